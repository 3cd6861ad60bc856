import { relative, resolve } from 'node:path';
import { ImageReadError, InspectdError } from '../errors.js';
import { opencv } from '../preprocess/opencv.js';
import type { Frame, FrameSource, SourceEvents } from './frame.js';
import { globMatcher } from './glob.js';
import { listImages } from './image-files.js';
import { readImageFile } from './read-image.js';

export interface FolderSourceOptions {
  path: string;
  fps: number;
  loop: boolean;
  /** Sub-folders too, each in name order after the files beside it. */
  recursive?: boolean;
  /** Glob on the path relative to `path` (see glob.ts). */
  pattern?: string;
  partIds: boolean;
}

/**
 * Replays a folder of images as a camera, at a fixed rate: to re-inspect yesterday's parts with a
 * new model, to commission a line on recorded parts, or for regression tests. Each frame carries
 * its file's path relative to the folder (`source`), so every verdict names the image it judged.
 * Images are passed on as stored (16-bit, alpha and all) for the plausibility checks to judge; an
 * unreadable or truncated file becomes an empty frame carrying its INSPECTD_IMAGE_READ error, hence
 * an ERROR verdict with that code. Without `loop`, `finished` is reported once the last image has
 * been handed over.
 */
export class FolderSource implements FrameSource {
  private timer: NodeJS.Timeout | undefined;
  private frameId = 0;
  private index = 0;
  private files: string[] = [];
  private stopped = false;
  private inflight: Promise<void> | undefined;
  private events: SourceEvents | undefined;
  private finished = false;

  constructor(
    readonly camera: string,
    private readonly opts: FolderSourceOptions,
  ) {}

  /** The images this replay will show, in order (absolute paths). */
  static list(opts: Pick<FolderSourceOptions, 'path' | 'recursive' | 'pattern'>, camera = 'replay'): string[] {
    const dir = resolve(opts.path);
    let files: string[];
    try {
      const listed = listImages([dir], opts.recursive ?? false);
      if (listed.problems.length > 0) throw new Error(listed.problems.join('; '));
      files = listed.files;
    } catch (err) {
      throw new InspectdError('INSPECTD_SOURCE', `camera ${camera}: cannot list ${dir}: ${(err as Error).message}`, { cause: err });
    }
    if (opts.pattern !== undefined) {
      const matches = globMatcher(opts.pattern);
      files = files.filter((f) => matches(relative(dir, f)));
    }
    if (files.length === 0) {
      const what = opts.pattern === undefined ? 'no images' : `no images matching ${opts.pattern}`;
      throw new InspectdError('INSPECTD_SOURCE', `camera ${camera}: ${what} in ${dir}${opts.recursive ? ' or below' : ''}`);
    }
    return files;
  }

  async start(onFrame: (frame: Frame) => void, onError: (err: Error) => void, events?: SourceEvents): Promise<void> {
    const dir = resolve(this.opts.path);
    this.files = FolderSource.list(this.opts, this.camera);
    this.events = events;
    events?.state?.({ state: 'up', reason: null });
    const cv = opencv();
    const periodMs = 1000 / this.opts.fps;
    const t0 = performance.now();
    const tick = () => {
      if (this.stopped) return;
      if (this.index >= this.files.length) {
        if (!this.opts.loop) {
          // The last image is handed over once its read completes.
          void this.inflight?.then(() => {
            if (this.stopped) return;
            this.finished = true;
            events?.state?.({ state: 'down', reason: 'replay finished' });
            events?.finished?.({ frames: this.frameId });
          });
          return;
        }
        this.index = 0;
      }
      const file = this.files[this.index++]!;
      const frameId = this.frameId++;
      const capturedAt = Date.now();
      const capture = { camera: this.camera, frameId, capturedAt, partId: this.opts.partIds ? `${this.camera}-${frameId}` : null, source: relative(dir, file) };
      this.inflight = readImageFile(file)
        .then(
          (image): Frame => ({ ...capture, image }),
          (err: unknown): Frame => ({
            ...capture,
            image: new cv.Mat(),
            readError: err instanceof InspectdError ? err : new ImageReadError(file, { cause: err }),
          }),
        )
        .then((frame) => {
          if (this.stopped) return;
          onFrame(frame);
        })
        .catch((err: Error) => onError(err));
      // Paced against the start time, not the last tick, so the rate does not drift.
      const next = t0 + (frameId + 1) * periodMs - performance.now();
      this.timer = setTimeout(tick, Math.max(0, next));
    };
    tick();
  }

  async stop(): Promise<void> {
    const wasRunning = !this.stopped && this.events !== undefined;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inflight;
    // Stopped part-way: the retained status must not stay `up`.
    if (wasRunning && !this.finished) this.events?.state?.({ state: 'down', reason: 'stopped' });
  }
}
