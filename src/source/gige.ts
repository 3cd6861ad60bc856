import type { SourceConfig } from '../config/schema.js';
import { sourceAsset } from '../util/source-asset.js';
import type { CameraProcessOptions } from './camera-process.js';

export type GigeSourceConfig = Extract<SourceConfig, { type: 'gige' }>;

/** Debian's Python, where python3-gi and gir1.2-aravis-0.8 are installed (a pyenv or venv python lacks them). */
const PYTHON = '/usr/bin/python3';

/** GenICam PixelFormat names for the config's. */
const PIXEL_FORMATS: Record<GigeSourceConfig['pixelFormat'], string> = { mono8: 'Mono8', rgb8: 'RGB8', bgr8: 'BGR8', bayerrg8: 'BayerRG8' };

/**
 * A GigE Vision camera as a camera process: src/source/aravis-camera.py drives it through Aravis's
 * own API (GObject bindings), sets PixelFormat, Width/Height, frame rate, exposure, gain and packet
 * size, and, triggered, TriggerMode=On with TriggerSource=Software, executing TriggerSoftware for each
 * PLC trigger. aravissrc (GStreamer) cannot stream a camera in TriggerMode=On, and opening a camera
 * in the daemon's own process would block its main thread; the helper does both jobs, free-running
 * and triggered alike.
 */
export function gigeCameraProcess(s: GigeSourceConfig, triggered: boolean): Pick<CameraProcessOptions, 'command' | 'args' | 'label' | 'triggerable' | 'waitsForOpen'> {
  const options = {
    cameraName: s.cameraName,
    pixelFormat: PIXEL_FORMATS[s.pixelFormat],
    width: s.width,
    height: s.height,
    fps: s.fps,
    exposureUs: s.exposureUs,
    gainDb: s.gainDb,
    packetSize: s.packetSize,
    packetResend: s.packetResend,
    triggered,
  };
  return {
    command: PYTHON,
    args: [sourceAsset(import.meta.url, 'aravis-camera.py'), JSON.stringify(options)],
    label: `GigE camera ${s.cameraName}`,
    triggerable: triggered,
    waitsForOpen: true,
  };
}
