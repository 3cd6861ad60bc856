import type { Logger } from 'pino';
import { isTriggeredCamera, type CameraConfig } from '../config/schema.js';
import { FolderSource } from './folder.js';
import type { Frame, FrameSource, SourceEvents } from './frame.js';
import { gigeCameraProcess } from './gige.js';
import { CameraProcess } from './camera-process.js';
import { openCvCameraOptions } from './opencv-options.js';
import { SyntheticCamera } from './synthetic/camera.js';
import { compiledWorker } from '../util/worker-path.js';

/** The camera named in config, as a FrameSource. */
export function createSource(cam: CameraConfig, log: Logger): FrameSource {
  const partIds = cam.partId === 'frame';
  const s = cam.source;
  switch (s.type) {
    case 'synthetic':
      return new AlwaysUp(
        new SyntheticCamera({
          camera: cam.name,
          fps: s.fps,
          width: s.width,
          height: s.height,
          channels: s.channels,
          defectRate: s.defectRate,
          seed: s.seed,
          count: s.count,
          corruptEvery: s.corruptEvery,
          partIds,
          renderThread: 'worker',
          distinctParts: s.distinctParts,
          triggered: isTriggeredCamera(cam),
        }),
      );
    case 'opencv':
    case 'rtsp': {
      // Opened and read in a camera process: OpenCV's open would block the main thread 150-500 ms.
      const opts = openCvCameraOptions(cam)!;
      return new CameraProcess(
        {
          camera: cam.name,
          command: process.execPath,
          args: [compiledWorker(import.meta.url, 'capture-process.js'), JSON.stringify(cam)],
          label: opts.label ?? String(opts.device),
          partIds,
          reconnect: s.reconnect,
        },
        log,
      );
    }
    case 'gige':
      return new CameraProcess({ camera: cam.name, ...gigeCameraProcess(s, cam.trigger === 'mqtt'), partIds, reconnect: s.reconnect }, log);
    case 'folder':
      return new FolderSource(cam.name, { path: s.path, fps: s.fps, loop: s.loop, recursive: s.recursive, pattern: s.pattern, partIds });
  }
}

/** A source that cannot drop (the synthetic line): up once started, down when stopped. */
class AlwaysUp implements FrameSource {
  private events: SourceEvents | undefined;
  constructor(private readonly inner: FrameSource) {}
  get camera(): string {
    return this.inner.camera;
  }
  async start(onFrame: (frame: Frame) => void, onError: (err: Error) => void, events?: SourceEvents): Promise<void> {
    this.events = events;
    await this.inner.start(onFrame, onError, events);
    events?.state?.({ state: 'up', reason: null });
  }
  async stop(): Promise<void> {
    await this.inner.stop();
    this.events?.state?.({ state: 'down', reason: 'stopped' });
  }
  /** The synthetic camera renders on a trigger; the wrapper must not hide that. */
  get trigger(): (() => void) | undefined {
    const inner = this.inner;
    return inner.trigger ? () => inner.trigger!() : undefined;
  }
}
