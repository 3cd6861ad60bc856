import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { createSource } from '../../src/source/create.js';
import type { Frame } from '../../src/source/frame.js';
import { freePort } from '../helpers/mosquitto.js';
import { jsonLines, startFakeGigeCamera, TestNetns, waitFor } from './netns.js';
import { killProcess, startRtspServer } from './rtsp-server.js';

/**
 * Opening a camera never blocks the daemon's main thread: OpenCV's VideoCapture open (150-500 ms
 * for GStreamer and RTSP) and Aravis's (GigE) run in a camera process of their own. Measured in the
 * process that runs the source (test/source/fixtures/capture-probe.mjs), from when start() returns (it
 * spawns the camera process) until frames flow, the open included: the longest late timer tick, counted
 * only as far as the event loop was busy during it (monitorEventLoopDelay alone also counts the time a
 * loaded box leaves an idle process unscheduled: 25-45 ms here at load 20+). With the open on the main
 * thread, as before, the same measure read 385-423 ms for this H.264 RTSP camera.
 */
const PROBE = 'test/source/fixtures/capture-probe.mjs';
/**
 * The bound: a quarter of the shortest open measured on the main thread (385 ms). Off it, this box
 * (2 vCPUs at load 20-35) read 2-55 ms: garbage collection and frame handling stretched by the OS not
 * running the process, so 50 ms would fail on load alone.
 */
const MAX_BLOCK_MS = 100;
const children: ChildProcess[] = [];
let ns: TestNetns | undefined;

afterEach(async () => {
  for (const c of children.splice(0)) await killProcess(c);
});
afterAll(() => ns?.remove());

describe('camera open off the main thread', () => {
  it('opens an H.264 RTSP camera without blocking the event loop', async () => {
    const port = await freePort();
    children.push(await startRtspServer(port, 'h264'));
    const probe = spawn(process.execPath, [PROBE, JSON.stringify({ name: 'ip1', source: { type: 'rtsp', url: `rtsp://127.0.0.1:${port}/line` } })], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, SETTLE_MS: '1000' },
    });
    children.push(probe);
    const events = jsonLines(probe);
    const frames = await waitFor('5 frames', () => events.filter((e) => e.event === 'frame').length >= 5 && events.filter((e) => e.event === 'frame'), 30_000);
    expect(frames[0]!.width).toBe(320);
    expect(frames[4]!.blockedMaxMs as number, `monitorEventLoopDelay max ${frames[4]!.loopMaxMs as number} ms`).toBeLessThan(MAX_BLOCK_MS);
  });

  it('opens a GigE camera (fake, in a network namespace) without blocking the event loop', async () => {
    ns = TestNetns.create();
    children.push(await startFakeGigeCamera(ns));
    const probe = ns.spawn('node', [PROBE, JSON.stringify({ name: 'g1', source: { type: 'gige', cameraName: 'Aravis-Fake-GV01', width: 320, height: 240, fps: 20 } })], { SETTLE_MS: '1000' });
    children.push(probe);
    const events = jsonLines(probe);
    const frames = await waitFor('5 frames', () => events.filter((e) => e.event === 'frame').length >= 5 && events.filter((e) => e.event === 'frame'), 30_000);
    expect(frames[4]!.blockedMaxMs as number, `monitorEventLoopDelay max ${frames[4]!.loopMaxMs as number} ms`).toBeLessThan(MAX_BLOCK_MS);
  });

  it('hands over every frame of a video file in order: the camera process reads the next only when the last is taken', async () => {
    const cv = opencv();
    const file = join(mkdtempSync(join(tmpdir(), 'inspectd-open-')), 'line.avi');
    const writer = new cv.VideoWriter(file, cv.VideoWriter.fourcc('MJPG'), 25, new cv.Size(160, 120), true);
    for (let i = 0; i < 12; i++) writer.write(new cv.Mat(120, 160, cv.CV_8UC3, [i * 20, 100, 200 - i * 10]));
    writer.release();
    const cfg = parseConfig({ cameras: [{ name: 'usb1', partId: 'frame', source: { type: 'opencv', device: file, maxFailedGrabs: 1000, warmupFrames: 0 } }] }, 'test');
    const source = createSource(cfg.cameras[0]!, pino({ level: 'silent' }));
    const frames: Array<{ frameId: number; partId: string | null; blue: number }> = [];
    await source.start(
      (f: Frame) => {
        frames.push({ frameId: f.frameId, partId: f.partId, blue: (f.image.at(60, 80) as unknown as { x: number }).x });
        f.image.release();
        // A slow consumer: a free-running reader would skip frames meanwhile.
        const until = Date.now() + 30;
        while (Date.now() < until);
      },
      () => undefined,
    );
    try {
      await waitFor('12 frames', () => frames.length >= 12, 30_000);
    } finally {
      await source.stop();
    }
    expect(frames.slice(0, 12).map((f) => f.frameId)).toEqual([...Array(12).keys()]);
    expect(frames[3]!.partId).toBe('usb1-3');
    // Frame i was drawn with blue i·20 (MJPEG moves it a little).
    frames.slice(0, 12).forEach((f, i) => expect(Math.abs(f.blue - i * 20)).toBeLessThan(8));
  });
});
