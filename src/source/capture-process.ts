/**
 * A camera process for the cameras OpenCV opens (USB/V4L2, RTSP, GStreamer pipelines, video files):
 * `node capture-process.js '<cameras[] entry as JSON>'`, started by CameraProcess. OpenCV's
 * VideoCapture open is synchronous and takes 150-500 ms (GStreamer pipelines, RTSP), and
 * opencv4nodejs cannot be loaded in a worker thread beside the main thread's copy, so the camera is
 * opened and read here, in its own process, and its frames go to the daemon over the frame pipe
 * (frame-pipe.ts). The camera's own reconnect and up/down state (OpenCvCamera) run here too; the
 * process exits when the daemon closes its stdin.
 */
import { createInterface } from 'node:readline';
import pino from 'pino';
import type { CameraConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { opencv } from '../preprocess/opencv.js';
import { encodeMessage, type CameraCommand } from './frame-pipe.js';
import { OpenCvCamera } from './opencv-camera.js';
import { openCvCameraOptions } from './opencv-options.js';

const cam = JSON.parse(process.argv[2] ?? 'null') as CameraConfig;
const options = openCvCameraOptions(cam);
if (!options) throw new Error(`capture-process: camera ${cam?.name} is not an OpenCV camera`);

/** One write at a time: each frame is three buffers, and stdout must not interleave messages. */
function send(header: Record<string, unknown>, payload?: Buffer): void {
  for (const part of encodeMessage(header, payload)) process.stdout.write(part);
}

// The daemon's `ready` credits: the next frame is read only when the last has been handed over.
let credit = 1;
let grant: (() => void) | undefined;
const creditAvailable = (): Promise<void> =>
  credit > 0
    ? Promise.resolve()
    : new Promise((resolve) => {
        grant = resolve;
      });

const camera = new OpenCvCamera({ ...options, beforeRead: creditAvailable }, pino({ level: 'silent' }));
const cv = opencv();

await camera.start(
  (frame) => {
    const image = frame.image;
    try {
      const channels = image.channels;
      const bgr = channels === 4 ? image.cvtColor(cv.COLOR_BGRA2BGR) : image;
      credit--;
      send({ kind: 'frame', width: bgr.cols, height: bgr.rows, pixelFormat: bgr.channels === 1 ? 'Mono8' : 'BGR8', capturedAt: frame.capturedAt }, bgr.getData());
      if (bgr !== image) bgr.release();
    } finally {
      image.release();
    }
  },
  (err) => send({ kind: 'error', message: errorMessage(err) }),
  { state: (s) => send(s.state === 'up' ? { kind: 'up' } : { kind: 'down', reason: s.reason ?? 'down' }) },
);

const stop = async () => {
  grant?.();
  await camera.stop();
  process.exit(0);
};
createInterface({ input: process.stdin })
  .on('line', (line) => {
    let command: CameraCommand;
    try {
      command = JSON.parse(line) as CameraCommand;
    } catch {
      return;
    }
    if (command.cmd === 'ready') {
      credit++;
      const g = grant;
      grant = undefined;
      g?.();
    }
  })
  .on('close', () => void stop());
