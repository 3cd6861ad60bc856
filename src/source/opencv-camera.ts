import type { Logger } from 'pino';
import { errorMessage, InspectdError } from '../errors.js';
import { opencv, type Mat } from '../preprocess/opencv.js';
import type { Frame, FrameSource } from './frame.js';

export interface OpenCvCameraOptions {
  camera: string;
  device: number | string;
  api: 'any' | 'v4l2' | 'gstreamer' | 'ffmpeg';
  fps?: number;
  width?: number;
  height?: number;
  maxFailedGrabs: number;
  partIds: boolean;
}

/**
 * A USB (V4L2) or GigE (GStreamer/Aravis pipeline) camera through OpenCV's VideoCapture. Frames are
 * read with readAsync, on libuv's pool, so a slow sensor never blocks deadlines on the main thread.
 * A camera that stops delivering is reopened with backoff rather than taking the daemon down.
 */
export class OpenCvCamera implements FrameSource {
  readonly camera: string;
  private cap: ReturnType<typeof this.open> | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private frameId = 0;

  constructor(
    private readonly opts: OpenCvCameraOptions,
    private readonly log: Logger,
  ) {
    this.camera = opts.camera;
  }

  private open() {
    const cv = opencv();
    const apis = { any: cv.CAP_ANY, v4l2: cv.CAP_V4L2, gstreamer: cv.CAP_GSTREAMER, ffmpeg: cv.CAP_FFMPEG };
    const cap = new cv.VideoCapture(this.opts.device as never, apis[this.opts.api]);
    if (this.opts.width) cap.set(cv.CAP_PROP_FRAME_WIDTH, this.opts.width);
    if (this.opts.height) cap.set(cv.CAP_PROP_FRAME_HEIGHT, this.opts.height);
    if (this.opts.fps) cap.set(cv.CAP_PROP_FPS, this.opts.fps);
    return cap;
  }

  /**
   * Never fails for a missing or unplugged camera: a line's other cameras keep working, and this one
   * is retried with backoff (each failure reported through onError) until it delivers.
   */
  async start(onFrame: (frame: Frame) => void, onError: (err: Error) => void): Promise<void> {
    this.running = true;
    this.loop = this.run(onFrame, onError);
  }

  private async run(onFrame: (frame: Frame) => void, onError: (err: Error) => void): Promise<void> {
    let failed = 0;
    let backoffMs = 500;
    const backoff = async () => {
      await new Promise((r) => setTimeout(r, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 10_000);
    };
    while (this.running) {
      if (!this.cap) {
        try {
          this.cap = this.open();
        } catch (err) {
          onError(new InspectdError('INSPECTD_SOURCE', `camera ${this.camera}: cannot open ${String(this.opts.device)}: ${errorMessage(err)}`, { cause: err }));
          await backoff();
          continue;
        }
      }
      let image: Mat | undefined;
      try {
        image = await this.cap.readAsync();
      } catch {
        image = undefined;
      }
      const capturedAt = Date.now();
      if (!this.running) break;
      if (!image || image.empty) {
        failed++;
        if (failed >= this.opts.maxFailedGrabs) {
          onError(new InspectdError('INSPECTD_SOURCE', `camera ${this.camera}: ${failed} failed grabs, reopening`));
          this.cap.release();
          this.cap = undefined;
          failed = 0;
          await backoff();
        }
        continue;
      }
      failed = 0;
      backoffMs = 500;
      const frameId = this.frameId++;
      onFrame({ camera: this.camera, frameId, capturedAt, partId: this.opts.partIds ? `${this.camera}-${frameId}` : null, image });
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.cap?.release();
  }
}
