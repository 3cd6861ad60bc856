/**
 * What a camera process's frames cost the daemon's main thread: raw frames written by a child
 * process over a pipe (src/source/frame-pipe.ts), read back and turned into Mats (toMat) the way
 * CameraProcess does, one `ready` credit per frame. Reports the reader's time per frame (spread over
 * the pipe's 64 KB chunks: median and p99 per chunk), toMat's median and p90, and the rate reached.
 *
 *   node dist/bench/camera-pipe.js [--frames 60] [--width 2448] [--height 2048]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { toMat } from '../src/source/camera-process.js';
import { encodeMessage, FramePipeReader } from '../src/source/frame-pipe.js';
import { opencv } from '../src/preprocess/opencv.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const FRAMES = arg('frames', 60);
const WIDTH = arg('width', 2448);
const HEIGHT = arg('height', 2048);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

if (process.argv.includes('--child')) {
  // The camera process's side: one frame per credit.
  const pixels = Buffer.alloc(WIDTH * HEIGHT, 7);
  let sent = 0;
  const send = () => {
    for (const part of encodeMessage({ kind: 'frame', width: WIDTH, height: HEIGHT, pixelFormat: 'Mono8', capturedAt: Date.now() }, pixels)) process.stdout.write(part);
    sent++;
  };
  process.stdin.on('data', () => (sent < FRAMES ? send() : process.exit(0)));
  send();
} else {
  opencv();
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', ...process.argv.slice(2)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const toMatMs: number[] = [];
  const chunkMs: number[] = [];
  let readerMs = 0;
  let firstAt: number | undefined;
  const reader = new FramePipeReader((m) => {
    if (m.kind !== 'frame') return;
    const t = performance.now();
    toMat(m.pixels, m.width, m.height, m.pixelFormat).release();
    toMatMs.push(performance.now() - t);
    child.stdin!.write('{"cmd":"ready"}\n');
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    firstAt ??= performance.now();
    const t = performance.now();
    const before = toMatMs.length ? toMatMs.reduce((a, b) => a + b, 0) : 0;
    reader.push(chunk);
    const spent = performance.now() - t - ((toMatMs.length ? toMatMs.reduce((a, b) => a + b, 0) : 0) - before);
    chunkMs.push(spent);
    readerMs += spent;
  });
  child.once('exit', () => {
    const elapsed = performance.now() - (firstAt ?? performance.now());
    console.log(
      JSON.stringify({
        frame: `${WIDTH}x${HEIGHT} mono8`,
        frames: toMatMs.length,
        fps: Math.round((toMatMs.length / elapsed) * 10_000) / 10,
        readerMsPerFrame: Math.round((readerMs / toMatMs.length) * 100) / 100,
        chunkMsP50: Math.round(pct(chunkMs, 0.5) * 1000) / 1000,
        chunkMsP99: Math.round(pct(chunkMs, 0.99) * 100) / 100,
        toMatMsP50: Math.round(pct(toMatMs, 0.5) * 100) / 100,
        toMatMsP90: Math.round(pct(toMatMs, 0.9) * 100) / 100,
      }),
    );
  });
}
