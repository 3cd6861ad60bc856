import type { Logger } from 'pino';
import type { CameraConfig } from '../config/schema.js';
import { FolderSource } from './folder.js';
import type { Frame, FrameSource, SourceEvents } from './frame.js';
import { gigeCameraProcess } from './gige.js';
import { CameraProcess } from './camera-process.js';
import { OpenCvCamera } from './opencv-camera.js';
import { probeRtspServer, redactUrl, rtspPipeline } from './rtsp.js';
import { SyntheticCamera } from './synthetic/camera.js';

/** Good frames dropped after a live camera opens before it counts as up: the first can be hundreds of ms old. */
const LIVE_WARMUP_FRAMES = 2;

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
          triggered: cam.trigger === 'mqtt',
        }),
      );
    case 'opencv':
      return new OpenCvCamera(
        { camera: cam.name, device: s.device, api: s.api, fps: s.fps, width: s.width, height: s.height, maxFailedGrabs: s.maxFailedGrabs, partIds, reconnect: s.reconnect, warmupFrames: s.warmupFrames },
        log,
      );
    case 'gige':
      return new CameraProcess({ camera: cam.name, ...gigeCameraProcess(s, cam.trigger === 'mqtt'), partIds, reconnect: s.reconnect }, log);
    case 'rtsp':
      return new OpenCvCamera(
        {
          camera: cam.name,
          device: rtspPipeline(s),
          api: 'gstreamer',
          label: `RTSP camera ${redactUrl(s.url)}`,
          maxFailedGrabs: 1,
          partIds,
          reconnect: s.reconnect,
          warmupFrames: LIVE_WARMUP_FRAMES,
          probe: () => probeRtspServer(s.url),
          liveTimestamps: true,
        },
        log,
      );
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
