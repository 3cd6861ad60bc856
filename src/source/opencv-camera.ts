import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { opencv, type Mat } from '../preprocess/opencv.js';
import { Backoff } from './backoff.js';
import { CameraState } from './camera-state.js';
import { CaptureClock } from './capture-clock.js';
import type { Frame, FrameSource, SourceEvents } from './frame.js';

type VideoCapture = InstanceType<ReturnType<typeof opencv>['VideoCapture']>;

export interface OpenCvCameraOptions {
  camera: string;
  /** V4L2 index, device path, video file or GStreamer pipeline. */
  device: number | string;
  api: 'any' | 'v4l2' | 'gstreamer' | 'ffmpeg';
  /** What logs and camera status call the device (a pipeline is long; an RTSP URL may hold a password). */
  label?: string;
  /** Asked of the device with VideoCapture.set (V4L2, files); GStreamer pipelines carry them in caps. */
  fps?: number;
  width?: number;
  height?: number;
  /** Consecutive failed grabs before the camera is reported down and reopened. */
  maxFailedGrabs: number;
  partIds: boolean;
  reconnect: { initialMs: number; maxMs: number };
  /** Good frames read and dropped after each open before the camera counts as up (exposure, buffers settling). */
  warmupFrames: number;
  /**
   * Checked, asynchronously, before each open: the reason the camera cannot be reached, or undefined.
   * OpenCV's open is synchronous, so an absent camera is found out here, not by blocking the main thread.
   */
  probe?: () => Promise<string | undefined>;
  /** A live GStreamer pipeline whose buffer timestamps date frames better than the read does (CaptureClock). */
  liveTimestamps?: boolean;
  /**
   * Awaited before each read: the camera process (capture-process.ts) reads the next frame only once
   * the daemon has taken the last, as an in-process read loop does, so a video file is not skipped
   * through and a live pipeline's one-frame appsink still decides which frame is the newest.
   */
  beforeRead?: () => Promise<void>;
}

/** How long stop() waits for a read in flight (a dead GigE stream holds one for seconds) before returning. */
const STOP_WAIT_MS = 1500;

/**
 * A camera through OpenCV's VideoCapture: USB (V4L2), and GigE Vision and RTSP as GStreamer
 * pipelines. Frames are read with readAsync, on libuv's pool, so a slow sensor never blocks
 * deadlines on the main thread. The camera is `down` until it has opened and delivered its warm-up
 * frames, `up` while it delivers, and `down` again with the reason when it stops; it is then reopened
 * with capped, jittered back-off. It never fails start: a line's other cameras keep working.
 */
export class OpenCvCamera implements FrameSource {
  readonly camera: string;
  private cap: VideoCapture | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private frameId = 0;
  private wake: (() => void) | undefined;
  private state: CameraState | undefined;

  constructor(
    private readonly opts: OpenCvCameraOptions,
    private readonly log: Logger,
  ) {
    this.camera = opts.camera;
  }

  private get label(): string {
    return this.opts.label ?? String(this.opts.device);
  }

  async start(onFrame: (frame: Frame) => void, onError: (err: Error) => void, events?: SourceEvents): Promise<void> {
    this.running = true;
    this.state = new CameraState(this.log, events);
    this.loop = this.run(onFrame, onError, this.state);
  }

  /**
   * Opens the device, or says why not. Blocks the calling thread while OpenCV opens (100-500 ms for
   * GStreamer pipelines), which is why the daemon runs this class in a camera process of its own
   * (capture-process.ts), never on its main thread; an absent camera is found out by the probe first.
   */
  private open(): string | undefined {
    const cv = opencv();
    const apis = { any: cv.CAP_ANY, v4l2: cv.CAP_V4L2, gstreamer: cv.CAP_GSTREAMER, ffmpeg: cv.CAP_FFMPEG };
    const t0 = performance.now();
    try {
      const cap = new cv.VideoCapture(this.opts.device as never, apis[this.opts.api]);
      if (this.opts.width) cap.set(cv.CAP_PROP_FRAME_WIDTH, this.opts.width);
      if (this.opts.height) cap.set(cv.CAP_PROP_FRAME_HEIGHT, this.opts.height);
      if (this.opts.fps) cap.set(cv.CAP_PROP_FPS, this.opts.fps);
      this.cap = cap;
      this.log.debug({ device: this.label, openMs: Math.round(performance.now() - t0) }, 'camera opened');
      return undefined;
    } catch (err) {
      return `cannot open ${this.label}: ${errorMessage(err)}`;
    }
  }

  private release(): void {
    this.cap?.release();
    this.cap = undefined;
  }

  /** Waits, unless stop() comes first. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(onFrame: (frame: Frame) => void, onError: (err: Error) => void, state: CameraState): Promise<void> {
    const cv = opencv();
    const backoff = new Backoff(this.opts.reconnect.initialMs, this.opts.reconnect.maxMs);
    const clock = new CaptureClock();
    let failed = 0;
    let warmup = 0;
    const retryLater = async (reason: string) => {
      this.release();
      state.down(reason);
      const delayMs = backoff.next();
      this.log.debug({ reason, retryInMs: delayMs }, 'camera retry');
      await this.pause(delayMs);
    };
    while (this.running) {
      if (!this.cap) {
        const unreachable = this.opts.probe ? await this.opts.probe() : undefined;
        if (!this.running) break;
        const problem = unreachable ?? this.open();
        if (problem) {
          await retryLater(problem);
          continue;
        }
        failed = 0;
        warmup = this.opts.warmupFrames;
        clock.reset();
      }
      if (this.opts.beforeRead) {
        await this.opts.beforeRead();
        if (!this.running) break;
      }
      let image: Mat | undefined;
      try {
        image = await this.cap!.readAsync();
      } catch {
        image = undefined;
      }
      const readAt = Date.now();
      if (!this.running) break;
      if (!image || image.empty) {
        failed++;
        if (failed >= this.opts.maxFailedGrabs) await retryLater(`${failed} failed grabs from ${this.label}`);
        continue;
      }
      failed = 0;
      const capturedAt = this.opts.liveTimestamps ? clock.stamp(readAt, this.cap!.get(cv.CAP_PROP_POS_MSEC)) : readAt;
      if (warmup > 0) {
        warmup--;
        image.release();
        continue;
      }
      state.up();
      backoff.reset();
      const frameId = this.frameId++;
      try {
        onFrame({ camera: this.camera, frameId, capturedAt, partId: this.opts.partIds ? `${this.camera}-${frameId}` : null, image });
      } catch (err) {
        onError(err as Error);
      }
    }
    // Released here, never by stop(): a read may still be running on the pool with this capture.
    this.release();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    const loop = this.loop;
    if (loop) await Promise.race([loop, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    this.state?.stopped();
  }
}
