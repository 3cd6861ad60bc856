import { resolve } from 'node:path';
import { ImageReadError, InspectdError } from '../errors.js';
import { opencv } from '../preprocess/opencv.js';
import type { Frame, FrameSource } from './frame.js';
import { listImages } from './image-files.js';
import { readImageFile } from './read-image.js';


/**
 * Replays a folder of images as a camera, at a fixed rate: for commissioning a line on recorded
 * parts, or for regression tests. Images are passed on as stored (16-bit, alpha and all) for the
 * plausibility checks to judge; an unreadable or truncated file becomes an empty frame carrying its
 * INSPECTD_IMAGE_READ error, hence an ERROR verdict with that code.
 */
export class FolderSource implements FrameSource {
  private timer: NodeJS.Timeout | undefined;
  private frameId = 0;
  private index = 0;
  private files: string[] = [];
  private stopped = false;
  private inflight: Promise<void> | undefined;

  constructor(
    readonly camera: string,
    private readonly opts: { path: string; fps: number; loop: boolean; partIds: boolean },
  ) {}

  async start(onFrame: (frame: Frame) => void, onError: (err: Error) => void): Promise<void> {
    const dir = resolve(this.opts.path);
    try {
      const { files, problems } = listImages([dir]);
      if (problems.length > 0) throw new Error(problems.join('; '));
      this.files = files;
    } catch (err) {
      throw new InspectdError('INSPECTD_SOURCE', `camera ${this.camera}: cannot list ${dir}: ${(err as Error).message}`, { cause: err });
    }
    if (this.files.length === 0) throw new InspectdError('INSPECTD_SOURCE', `camera ${this.camera}: no images in ${dir}`);
    const cv = opencv();
    const periodMs = 1000 / this.opts.fps;
    const t0 = performance.now();
    const tick = () => {
      if (this.stopped) return;
      if (this.index >= this.files.length) {
        if (!this.opts.loop) return;
        this.index = 0;
      }
      const file = this.files[this.index++]!;
      const frameId = this.frameId++;
      const capturedAt = Date.now();
      const capture = { camera: this.camera, frameId, capturedAt, partId: this.opts.partIds ? `${this.camera}-${frameId}` : null };
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
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inflight;
  }
}
