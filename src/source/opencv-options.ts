import type { CameraConfig } from '../config/schema.js';
import type { OpenCvCameraOptions } from './opencv-camera.js';
import { probeRtspServer, redactUrl, rtspPipeline } from './rtsp.js';

/** Good frames dropped after a live camera opens before it counts as up: the first can be hundreds of ms old. */
const LIVE_WARMUP_FRAMES = 2;

/** How OpenCV opens the camera named in config (USB/V4L2, a video file, a pipeline, RTSP); undefined for other kinds. */
export function openCvCameraOptions(cam: CameraConfig): OpenCvCameraOptions | undefined {
  const partIds = cam.partId === 'frame';
  const s = cam.source;
  switch (s.type) {
    case 'opencv':
      return { camera: cam.name, device: s.device, api: s.api, fps: s.fps, width: s.width, height: s.height, maxFailedGrabs: s.maxFailedGrabs, partIds, reconnect: s.reconnect, warmupFrames: s.warmupFrames };
    case 'rtsp':
      return {
        camera: cam.name,
        device: rtspPipeline(s),
        api: 'gstreamer',
        label: `RTSP camera ${redactUrl(s.url)}`,
        // A GStreamer pipeline that returns no frame has ended (stream lost): reopen at once.
        maxFailedGrabs: 1,
        partIds,
        reconnect: s.reconnect,
        warmupFrames: LIVE_WARMUP_FRAMES,
        probe: () => probeRtspServer(s.url),
        liveTimestamps: true,
      };
    default:
      return undefined;
  }
}
