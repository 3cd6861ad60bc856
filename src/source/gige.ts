import { execFile } from 'node:child_process';
import type { SourceConfig } from '../config/schema.js';

export type GigeSourceConfig = Extract<SourceConfig, { type: 'gige' }>;

/** GenICam PixelFormat → the caps aravissrc produces for it, and the conversion to what the model takes. */
const FORMATS: Record<GigeSourceConfig['pixelFormat'], { caps: string; convert: string }> = {
  mono8: { caps: 'video/x-raw,format=GRAY8', convert: 'videoconvert ! video/x-raw,format=GRAY8' },
  rgb8: { caps: 'video/x-raw,format=RGB', convert: 'videoconvert ! video/x-raw,format=BGR' },
  bgr8: { caps: 'video/x-raw,format=BGR', convert: 'videoconvert ! video/x-raw,format=BGR' },
  // Demosaiced by GStreamer's bayer2rgb (plugins-bad), then to BGR for OpenCV.
  bayerrg8: { caps: 'video/x-bayer,format=rggb', convert: 'bayer2rgb ! videoconvert ! video/x-raw,format=BGR' },
};

/** A GStreamer frame rate fraction; 7.5 fps is 7500/1000. */
function fraction(fps: number): string {
  return Number.isInteger(fps) ? `${fps}/1` : `${Math.round(fps * 1000)}/1000`;
}

/**
 * The GStreamer pipeline for a GigE Vision camera. Size and rate are asked for in the caps, which
 * aravissrc turns into the camera's Width/Height/AcquisitionFrameRate; exposure and gain are its
 * properties. The appsink keeps one frame and drops older ones (drop=true max-buffers=1), so a
 * consumer that falls behind gets the newest image, never one from a queue; sync=false hands each
 * frame over when it arrives instead of pacing it against the pipeline clock.
 */
export function gigePipeline(s: GigeSourceConfig): string {
  const props = [`camera-name="${s.cameraName}"`];
  if (s.exposureUs !== undefined) props.push(`exposure=${s.exposureUs}`);
  if (s.gainDb !== undefined) props.push(`gain=${s.gainDb}`);
  props.push(s.packetSize > 0 ? `packet-size=${s.packetSize}` : 'auto-packet-size=true');
  props.push(`packet-resend=${s.packetResend}`);
  const f = FORMATS[s.pixelFormat];
  const caps = [f.caps];
  if (s.width !== undefined) caps.push(`width=${s.width}`);
  if (s.height !== undefined) caps.push(`height=${s.height}`);
  if (s.fps !== undefined) caps.push(`framerate=${fraction(s.fps)}`);
  return `aravissrc ${props.join(' ')} ! ${caps.join(',')} ! ${f.convert} ! appsink drop=true max-buffers=1 sync=false`;
}

/**
 * Whether the camera answers discovery, asked in a child process (`arv-tool-0.8`): OpenCV has no
 * asynchronous open, and opening an absent camera blocks the calling thread for about 2 s of
 * discovery, so an unplugged camera retried all shift would stall every deadline on the main thread.
 * Resolves the reason it is unreachable, or undefined. Without arv-tool it cannot tell, and says
 * nothing (the open then finds out, blocking).
 */
export function probeGigeCamera(cameraName: string, timeoutMs = 5000): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('arv-tool-0.8', ['-n', cameraName, 'control', 'DeviceModelName'], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return resolve(undefined);
      const out = `${stdout}\n${stderr}`;
      if (!err && /DeviceModelName\s*=/.test(out)) return resolve(undefined);
      const said = out.split('\n').map((l) => l.trim()).find((l) => l.length > 0);
      resolve(`GigE camera ${cameraName} not found${said ? ` (${said})` : err?.killed ? ' (discovery timed out)' : ''}`);
    });
  });
}
