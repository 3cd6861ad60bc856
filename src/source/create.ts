import type { Logger } from 'pino';
import type { CameraConfig } from '../config/schema.js';
import { FolderSource } from './folder.js';
import type { FrameSource } from './frame.js';
import { OpenCvCamera } from './opencv-camera.js';
import { SyntheticCamera } from './synthetic/camera.js';

/** The camera named in config, as a FrameSource. */
export function createSource(cam: CameraConfig, log: Logger): FrameSource {
  const partIds = cam.partId === 'frame';
  const s = cam.source;
  switch (s.type) {
    case 'synthetic':
      return new SyntheticCamera({
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
      });
    case 'opencv':
      return new OpenCvCamera({ camera: cam.name, device: s.device, api: s.api, fps: s.fps, width: s.width, height: s.height, maxFailedGrabs: s.maxFailedGrabs, partIds }, log);
    case 'folder':
      return new FolderSource(cam.name, { path: s.path, fps: s.fps, loop: s.loop, partIds });
  }
}
