import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { opencv } from '../../src/preprocess/opencv.js';
import { FolderSource } from '../../src/source/folder.js';
import type { Frame } from '../../src/source/frame.js';
import { OpenCvCamera } from '../../src/source/opencv-camera.js';

const cv = opencv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function collect(source: { start: FolderSource['start']; stop: () => Promise<void> }, until: (f: Frame[]) => boolean, timeoutMs = 10_000) {
  const frames: Frame[] = [];
  const errors: Error[] = [];
  const states: string[] = [];
  await source.start(
    (f) => frames.push(f),
    (e) => errors.push(e),
    { state: (s) => states.push(s.reason ? `${s.state}: ${s.reason}` : s.state) },
  );
  const end = Date.now() + timeoutMs;
  while (!until(frames) && Date.now() < end) await sleep(20);
  await source.stop();
  return { frames, errors, states };
}
const fast = { reconnect: { initialMs: 50, maxMs: 200 }, warmupFrames: 0 };

describe('OpenCV camera source', () => {
  it('grabs frames from a VideoCapture device (here a video file) with monotonic frameIds and capture times', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspectd-cap-'));
    const file = join(dir, 'line.avi');
    const writer = new cv.VideoWriter(file, cv.VideoWriter.fourcc('MJPG'), 25, new cv.Size(160, 120), true);
    for (let i = 0; i < 12; i++) writer.write(new cv.Mat(120, 160, cv.CV_8UC3, [i * 20, 100, 200 - i * 10]));
    writer.release();

    const camera = new OpenCvCamera({ camera: 'usb1', device: file, api: 'any', maxFailedGrabs: 1000, partIds: true, ...fast }, pino({ level: 'silent' }));
    const { frames } = await collect(camera, (f) => f.length >= 12);
    expect(frames.length).toBe(12);
    expect(frames.map((f) => f.frameId)).toEqual([...Array(12).keys()]);
    expect(frames.every((f, i) => i === 0 || f.capturedAt >= frames[i - 1]!.capturedAt)).toBe(true);
    expect([frames[0]!.image.rows, frames[0]!.image.cols, frames[0]!.image.channels]).toEqual([120, 160, 3]);
    expect(frames[3]!.partId).toBe('usb1-3');
    // The frames are the video's, in order: the blue channel ramps up by 20 per frame (MJPEG is lossy).
    const blue = frames.map((f) => f.image.at(60, 80) as unknown as { x: number }).map((v) => v.x);
    expect(blue[11]! - blue[0]!).toBeGreaterThan(180);
  });

  it('reports a device that stops delivering and reopens it, frameIds carrying on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspectd-cap-'));
    const file = join(dir, 'short.avi');
    const writer = new cv.VideoWriter(file, cv.VideoWriter.fourcc('MJPG'), 25, new cv.Size(64, 48), true);
    for (let i = 0; i < 3; i++) writer.write(new cv.Mat(48, 64, cv.CV_8UC3, [0, 0, 0]));
    writer.release();
    // The file ends after 3 frames, like a camera that drops off the bus; reopening "replugs" it.
    const camera = new OpenCvCamera({ camera: 'flaky', device: file, api: 'any', maxFailedGrabs: 2, partIds: false, ...fast }, pino({ level: 'silent' }));
    const { frames, states } = await collect(camera, (f) => f.length >= 6);
    expect(frames.map((f) => f.frameId)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(states.slice(0, 3)).toEqual(['up', `down: 2 failed grabs from ${file}`, 'up']);
    expect(states.at(-1)).toBe('down: stopped');
  });

  it('keeps retrying a camera that cannot be opened, reporting it down once with why, without failing start', async () => {
    let opens = 0;
    const camera = new OpenCvCamera(
      {
        camera: 'gone',
        device: join(tmpdir(), 'no-such-camera.avi'),
        api: 'any',
        maxFailedGrabs: 3,
        partIds: false,
        ...fast,
        // Counts the attempts (a probe that finds nothing wrong lets the open itself fail).
        probe: async () => {
          opens++;
          return undefined;
        },
      },
      pino({ level: 'silent' }),
    );
    const { frames, states } = await collect(camera, (_f) => false, 1200);
    expect(frames).toHaveLength(0);
    expect(opens).toBeGreaterThanOrEqual(4);
    expect(states).toHaveLength(2);
    expect(states[0]).toMatch(/^down: cannot open .*no-such-camera\.avi: \S/);
    expect(states[1]).toBe('down: stopped');
  });
});

describe('folder replay source', () => {
  it('replays the images of a folder in name order at the configured rate, and an unreadable file as an empty frame', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspectd-folder-'));
    for (let i = 0; i < 4; i++) cv.imwrite(join(dir, `part-${i}.png`), new cv.Mat(40, 50, cv.CV_8UC1, i * 50));
    writeFileSync(join(dir, 'part-9.png'), 'not a png');
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    const source = new FolderSource('replay', { path: dir, fps: 20, loop: false, partIds: false });
    const t0 = Date.now();
    const { frames } = await collect(source, (f) => f.length >= 5);
    const elapsed = Date.now() - t0;
    expect(frames.map((f) => f.frameId)).toEqual([0, 1, 2, 3, 4]);
    expect(frames.slice(0, 4).map((f) => f.image.at(0, 0) as unknown as number)).toEqual([0, 50, 100, 150]);
    expect(frames[4]!.image.empty).toBeTruthy();
    // 5 frames at 20 fps: the last is due 200 ms after the first.
    expect(elapsed).toBeGreaterThanOrEqual(190);
  });

  it('says replay finished once the last image is handed over, and stopped when stopped part-way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspectd-folder-'));
    for (let i = 0; i < 3; i++) cv.imwrite(join(dir, `p${i}.png`), new cv.Mat(8, 8, cv.CV_8UC1, i));
    const finished: number[] = [];
    const states: string[] = [];
    const once = new FolderSource('replay', { path: dir, fps: 50, loop: false, partIds: false });
    await once.start(() => {}, () => {}, { state: (s) => states.push(`${s.state}: ${s.reason}`), finished: (i) => finished.push(i.frames) });
    const end = Date.now() + 5000;
    while (finished.length === 0 && Date.now() < end) await sleep(10);
    await once.stop();
    expect(finished).toEqual([3]);
    expect(states).toEqual(['up: null', 'down: replay finished']);
    // Looping never finishes: a stop says so, or the retained status would stay `up`.
    const looping = new FolderSource('replay', { path: dir, fps: 50, loop: true, partIds: false });
    const loopStates: string[] = [];
    await looping.start(() => {}, () => {}, { state: (s) => loopStates.push(`${s.state}: ${s.reason}`) });
    await sleep(100);
    await looping.stop();
    expect(loopStates).toEqual(['up: null', 'down: stopped']);
  });
});
