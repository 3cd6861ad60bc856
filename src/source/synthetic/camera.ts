/**
 * The synthetic line camera: the daemon's default source when no real camera is configured.
 * It paces rendered parts at a fixed rate like a free-running area-scan camera on a conveyor.
 */
import { Worker } from 'node:worker_threads';
import { InspectdError } from '../../errors.js';
import { opencv } from '../../preprocess/opencv.js';
import { compiledWorker } from '../../util/worker-path.js';
import type { Frame, FrameSource, FrameTruth } from '../frame.js';
import { renderPart } from './render.js';
import type { FromRenderWorker, ToRenderWorker } from './render-worker.js';

export interface SyntheticCameraOptions {
  camera: string;
  /** Frames per second; the schedule is anchored to a monotonic clock so it does not drift. */
  fps: number;
  width?: number; // default 640
  height?: number; // default 512
  channels?: 1 | 3; // default 1 (mono)
  defectRate?: number; // default 0.3
  seed?: number; // default 1
  defectKinds?: string[];
  /** Stop after this many frames (corrupt ones included), then call onEnd. */
  count?: number;
  /** frameId of the first frame; frame i is always the render of index i. Default 0. */
  startFrameId?: number;
  /** true: partId is `${camera}-${frameId}`; false: null, as on a line without part tracking. */
  partIds?: boolean;
  /**
   * Every Nth frame (frameIds N-1, 2N-1, ... — a property of the frameId, so reproducible
   * whatever the start) is sent as an EMPTY Mat with truth.corrupt = true. Empty rather than
   * wrong-sized because preprocessing resizes any size to the model input: only an empty image
   * is unambiguously broken, so it must come out as an ERROR verdict.
   */
  corruptEvery?: number;
  onEnd?: () => void;
  /**
   * Where parts are drawn. 'worker' (the daemon's choice): a render thread, so ~8 ms of JavaScript
   * per 640x512 part never sits in front of a deadline timer, as with a real camera's driver.
   * 'main': in the timer callback (tools and tests on a fake clock). Default 'main'.
   */
  renderThread?: 'worker' | 'main';
  /**
   * Draw only this many distinct parts and then cycle through them (frame i shows part i mod N).
   * For benchmarks at hundreds of fps: a real camera's frames cost the host next to nothing, and
   * ~8 ms of rendering per frame would otherwise be measured as the daemon's own load.
   */
  distinctParts?: number;
  /** Triggered: no free-running schedule; each trigger() draws and emits the next part. */
  triggered?: boolean;
}

export class SyntheticCamera implements FrameSource {
  readonly camera: string;
  private readonly periodMs: number;
  private readonly width: number;
  private readonly height: number;
  private readonly channels: 1 | 3;
  private readonly defectRate: number;
  private readonly seed: number;
  private nextFrameId: number;
  private emitted = 0;
  private slot = 0;
  private t0 = 0;
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private stopped = false;

  constructor(private readonly opts: SyntheticCameraOptions) {
    this.camera = opts.camera;
    if (!(opts.fps > 0 && opts.fps <= 1000)) throw source(`camera ${opts.camera}: fps ${opts.fps} outside (0, 1000]`);
    if (opts.count !== undefined && !(Number.isInteger(opts.count) && opts.count >= 0)) {
      throw source(`camera ${opts.camera}: count ${opts.count} is not a non-negative integer`);
    }
    if (opts.corruptEvery !== undefined && !(Number.isInteger(opts.corruptEvery) && opts.corruptEvery >= 1)) {
      throw source(`camera ${opts.camera}: corruptEvery ${opts.corruptEvery} is not a positive integer`);
    }
    this.periodMs = 1000 / opts.fps;
    this.width = opts.width ?? 640;
    this.height = opts.height ?? 512;
    this.channels = opts.channels ?? 1;
    this.defectRate = opts.defectRate ?? 0.3;
    this.seed = opts.seed ?? 1;
    this.nextFrameId = opts.startFrameId ?? 0;
    // Render one part now: bad sizes or kinds fail at construction, and the texture bank is
    // baked before the first timed frame rather than inside it.
    renderPart(this.partParams(this.nextFrameId));
  }

  async start(onFrame: (frame: Frame) => void, onError: (err: Error) => void): Promise<void> {
    if (this.started) throw source(`camera ${this.camera}: already started`);
    this.started = true;
    try {
      opencv();
    } catch (err) {
      throw new InspectdError('INSPECTD_SOURCE', `camera ${this.camera}: OpenCV not loadable: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (this.opts.count === 0) {
      this.finish();
      return;
    }
    this.onFrame = onFrame;
    this.onError = onError;
    if (this.opts.renderThread === 'worker') {
      this.worker = new Worker(compiledWorker(import.meta.url, 'render-worker.js'));
      this.worker.on('message', (msg: FromRenderWorker) => this.onRendered(msg));
      this.worker.on('error', (err) => this.onError(source(`camera ${this.camera}: render worker failed: ${err.message}`)));
    } else {
      this.t0 = performance.now();
      this.slot = 0;
      this.arm();
      return;
    }
    // Warm up like a real camera: the first render (texture bank) is slow, and must not be a frame's.
    await new Promise<void>((res) => {
      this.warmedUp = res;
      this.requestNext();
      if (this.isCorrupt(this.nextFrameId)) res();
    });
    this.t0 = performance.now();
    this.slot = 0;
    this.arm();
  }

  async stop(): Promise<void> {
    // Frames are emitted synchronously from the timer callback or a render's arrival; once the timer
    // is cleared and the flag set, no onFrame can follow.
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private onFrame: (frame: Frame) => void = () => {};
  private onError: (err: Error) => void = () => {};
  private worker: Worker | undefined;
  private warmedUp: (() => void) | undefined;
  /** The next frame's render, once back from the worker. */
  private rendered: { index: number; pixels: Uint8Array; truth: FrameTruth } | undefined;
  private rendering: number | undefined;
  /** Its slot came before its render did: it is emitted the moment the render arrives. */
  private due = false;

  private partParams(index: number) {
    return {
      width: this.width,
      height: this.height,
      channels: this.channels,
      defectRate: this.defectRate,
      seed: this.seed,
      defectKinds: this.opts.defectKinds,
      index,
    };
  }

  private isCorrupt(frameId: number): boolean {
    const every = this.opts.corruptEvery;
    return every !== undefined && (frameId + 1) % every === 0;
  }

  /** Asks the worker for the next frame's image, one ahead, so it is ready at its slot. */
  private requestNext(): void {
    const index = this.nextFrameId;
    if (this.isCorrupt(index) || this.rendering === index || this.rendered?.index === index || !this.worker) return;
    // (Without a worker the part is drawn at its slot, in capture().)
    const cached = this.ring.get(this.partIndex(index));
    if (cached) {
      this.rendered = { index, ...cached };
      return;
    }
    this.rendering = index;
    this.worker.postMessage({ type: 'render', params: this.partParams(this.partIndex(index)) } satisfies ToRenderWorker);
  }

  /** Parts already drawn, when distinctParts is set: frame i shows part i mod N. */
  private readonly ring = new Map<number, { pixels: Uint8Array; truth: FrameTruth }>();

  private partIndex(frameId: number): number {
    const n = this.opts.distinctParts;
    return n ? frameId % n : frameId;
  }

  private onRendered(msg: FromRenderWorker): void {
    const frameId = this.rendering!;
    this.rendering = undefined;
    if (msg.type === 'render-error') {
      this.onError(source(`camera ${this.camera}: frame ${frameId}: ${msg.message}`));
      return;
    }
    // A Mat copies its pixels, so a cached part can back every frame that shows it.
    if (this.opts.distinctParts) this.ring.set(msg.index, { pixels: msg.pixels, truth: msg.truth });
    this.rendered = { index: frameId, pixels: msg.pixels, truth: msg.truth };
    if (this.warmedUp) {
      const w = this.warmedUp;
      this.warmedUp = undefined;
      w();
    }
    if (this.opts.triggered) {
      this.emitOwed();
    } else if (this.due && !this.stopped) {
      this.due = false;
      this.emitAndArm();
    }
  }

  /** Triggers not yet answered with a frame (their part is still being drawn). */
  private triggersOwed = 0;

  /** Takes the next part now: a software trigger, as a hardware-triggered line camera takes its frame. */
  trigger(): void {
    if (!this.opts.triggered || this.stopped) return;
    this.triggersOwed++;
    this.emitOwed();
  }

  private emitOwed(): void {
    while (this.triggersOwed > 0 && !this.stopped) {
      const id = this.nextFrameId;
      if (this.worker && !this.isCorrupt(id) && this.rendered?.index !== id) return; // drawn on arrival
      this.triggersOwed--;
      this.emitAndArm();
    }
  }

  private arm(): void {
    if (this.stopped || this.opts.triggered) return;
    const due = this.t0 + this.slot * this.periodMs;
    this.timer = setTimeout(this.tick, Math.max(0, due - performance.now()));
  }

  private readonly tick = (): void => {
    this.timer = null;
    if (this.stopped) return;
    const id = this.nextFrameId;
    if (this.worker && !this.isCorrupt(id) && this.rendered?.index !== id) {
      // Rendering is slower than the frame rate: this frame goes out when its image exists.
      this.due = true;
      return;
    }
    this.emitAndArm();
  };

  private emitAndArm(): void {
    try {
      this.onFrame(this.capture());
    } catch (err) {
      this.onError(
        err instanceof InspectdError
          ? err
          : new InspectdError('INSPECTD_SOURCE', `camera ${this.camera}: ${(err as Error).message}`, { cause: err }),
      );
    }
    this.emitted++;
    if (this.opts.count !== undefined && this.emitted >= this.opts.count) {
      this.finish();
      return;
    }
    this.requestNext();
    // More than a whole period late (event loop stalled, or fps beyond what rendering can
    // keep up with): drop the missed slots like a free-running camera, rather than burst.
    const next = this.slot + 1;
    const late = Math.floor((performance.now() - this.t0) / this.periodMs);
    this.slot = late > next ? late : next;
    this.arm();
  }

  private capture(): Frame {
    const cv = opencv();
    const frameId = this.nextFrameId++;
    let image;
    let truth: FrameTruth;
    if (this.isCorrupt(frameId)) {
      image = new cv.Mat();
      truth = { defective: false, kinds: [], boxes: [], corrupt: true };
    } else {
      const part = this.rendered?.index === frameId ? this.rendered : { ...renderPart(this.partParams(this.partIndex(frameId))) };
      this.rendered = undefined;
      const bytes = Buffer.from(part.pixels.buffer, part.pixels.byteOffset, part.pixels.byteLength);
      image = new cv.Mat(bytes, this.height, this.width, this.channels === 1 ? cv.CV_8UC1 : cv.CV_8UC3);
      truth = part.truth;
    }
    return {
      camera: this.camera,
      frameId,
      capturedAt: Date.now(),
      partId: this.opts.partIds ? `${this.camera}-${frameId}` : null,
      image,
      truth,
    };
  }

  private finish(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    void this.worker?.terminate();
    this.worker = undefined;
    this.opts.onEnd?.();
  }
}

function source(message: string): InspectdError {
  return new InspectdError('INSPECTD_SOURCE', message);
}
