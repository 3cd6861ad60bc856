/**
 * Cost of the per-frame plausibility check (src/inspect/plausibility.ts) on the main thread, for
 * the frame sizes a line runs: the synthetic line's 640x512 and a 5 MP 2448x2048 camera, mono and
 * BGR. The frame is a synthetic part scaled to size (a part passes every check, so the whole check
 * runs, brightness and contrast included). Also the cost of reading a PNG/JPEG file's framing
 * (imageDamage), which a folder replay pays per file on top of decoding.
 *
 *   node dist/bench/plausibility.js [--runs 2000]
 */
import { performance } from 'node:perf_hooks';
import { plausibleImage, type PlausibilityRules } from '../src/inspect/plausibility.js';
import { opencv, type Mat } from '../src/preprocess/opencv.js';
import { imageDamage } from '../src/source/read-image.js';
import { renderPart } from '../src/source/synthetic/render.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 2000;
const cv = opencv();

function part(width: number, height: number, channels: 1 | 3): Mat {
  const p = renderPart({ width: 640, height: 512, channels, defectRate: 0, seed: 3, index: 1 });
  const mat = new cv.Mat(Buffer.from(p.pixels.buffer, p.pixels.byteOffset, p.pixels.byteLength), 512, 640, channels === 1 ? cv.CV_8UC1 : cv.CV_8UC3);
  return width === 640 && height === 512 ? mat : mat.resize(height, width, 0, 0, cv.INTER_LINEAR);
}

/** Median and p99 in microseconds of `fn` over RUNS calls, after a warm-up. */
function time(fn: () => void): { p50: number; p99: number } {
  for (let i = 0; i < 100; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    fn();
    samples.push((performance.now() - t0) * 1000);
  }
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(RUNS / 2)]!, p99: samples[Math.floor(RUNS * 0.99)]! };
}

console.log(`plausibility check, ${RUNS} runs each (microseconds)`);
for (const [width, height] of [
  [640, 512],
  [2448, 2048],
] as const) {
  for (const channels of [1, 3] as const) {
    const image = part(width, height, channels);
    const rules: PlausibilityRules = { camera: 'bench', size: { width, height }, channels, minSidePx: 32, convert: false, minBrightness: 8, maxBrightness: 247, minContrast: 4 };
    const frame = { camera: 'bench', frameId: 0, capturedAt: 0, partId: null, image };
    const check = time(() => void plausibleImage(frame, rules));
    const png = cv.imencode('.png', image);
    const jpg = cv.imencode('.jpg', image);
    const framingPng = time(() => void imageDamage(png));
    const framingJpg = time(() => void imageDamage(jpg));
    console.log(
      `${width}x${height}x${channels}: check p50 ${check.p50.toFixed(1)} p99 ${check.p99.toFixed(1)}; ` +
        `file framing PNG (${(png.length / 1e6).toFixed(2)} MB) p50 ${framingPng.p50.toFixed(1)}, JPEG p50 ${framingJpg.p50.toFixed(1)}`,
    );
  }
}
