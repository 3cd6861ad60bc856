import { describe, expect, it } from 'vitest';
import type { InputSpec } from '../../src/model/spec.js';
import { SharedTensorPool } from '../../src/infer/shared-tensors.js';
import { opencv, type Mat } from '../../src/preprocess/opencv.js';
import { toTensor } from '../../src/preprocess/preprocess.js';

/**
 * toTensor has OpenCV copy each converted channel straight into the tensor's memory (a Mat header
 * over it, at the channel's offset). The tensor must be convertTo's floats, bit for bit, in every
 * layout and at every offset, also in a reused shared tensor: training tools and `inspectd capture`
 * rely on the daemon's tensor being exactly that. The reference here is convertTo read out by getData.
 */
function spec(over: Partial<InputSpec>): InputSpec {
  return { name: 'input', width: 37, height: 11, colorOrder: 'GRAY', layout: 'NCHW', resize: 'stretch', padValue: 114, scale: 1 / 255, mean: [0.5], std: [0.5], ...over };
}

function randomMat(rows: number, cols: number, channels: 1 | 3, seed: number): Mat {
  const cv = opencv();
  const px = Buffer.alloc(rows * cols * channels);
  let s = seed >>> 0;
  for (let i = 0; i < px.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    px[i] = s >>> 24;
  }
  px[0] = 0;
  px[1] = 255;
  return new cv.Mat(px, rows, cols, channels === 1 ? cv.CV_8UC1 : cv.CV_8UC3);
}

/** convertTo per channel, laid out as the spec says: what toTensor made before the table. */
function byConvertTo(m: Mat, input: InputSpec): Float32Array {
  const cv = opencv();
  const C = m.channels;
  const plane = m.rows * m.cols;
  const a = (c: number) => input.scale / (input.std[c] ?? input.std[0]!);
  const b = (c: number) => -(input.mean[c] ?? input.mean[0]!) / (input.std[c] ?? input.std[0]!);
  const planes = C === 1 ? [m] : m.splitChannels();
  const floats = planes.map((p, c) => new Float32Array(new Uint8Array(p.convertTo(cv.CV_32FC1, a(c), b(c)).getData()).buffer));
  const out = new Float32Array(C * plane);
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < plane; p++) {
      if (input.layout === 'NCHW') out[c * plane + p] = floats[c]![p]!;
      else out[p * C + c] = floats[c]![p]!;
    }
  }
  return out;
}

const bits = (t: Float32Array) => new Uint32Array(t.buffer, t.byteOffset, t.length);

describe('the tensor written in place', () => {
  const cases: [string, 1 | 3, Partial<InputSpec>][] = [
    ['grey NCHW', 1, {}],
    ['grey NHWC', 1, { layout: 'NHWC' }],
    ['colour NCHW, per-channel mean/std', 3, { colorOrder: 'BGR', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }],
    ['colour NHWC, one mean/std', 3, { colorOrder: 'BGR', layout: 'NHWC', scale: 1, mean: [127.5], std: [58.3] }],
    ['colour NHWC, per-channel mean/std', 3, { colorOrder: 'BGR', layout: 'NHWC', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }],
  ];
  for (const [name, channels, over] of cases) {
    it(`${name}: the same floats as convertTo, bit for bit`, () => {
      const input = spec(over);
      // 37 x 11: an odd pixel count, so SIMD tails are exercised in convertTo.
      const m = randomMat(11, 37, channels, 7 + channels);
      expect(bits(toTensor(m, input))).toEqual(bits(byConvertTo(m, input)));
    });
  }

  it('fills a reused shared tensor completely, whatever its last frame left in it', () => {
    const pool = new SharedTensorPool();
    const input = spec({});
    const first = toTensor(randomMat(11, 37, 1, 1), input, (n) => pool.take(n));
    first.fill(Number.NaN);
    pool.give(first);
    const m = randomMat(11, 37, 1, 2);
    const again = toTensor(m, input, (n) => pool.take(n));
    expect(again).toBe(first);
    expect(bits(again)).toEqual(bits(byConvertTo(m, input)));
  });

  it('never hands out one shared tensor twice, even when given back twice', () => {
    const pool = new SharedTensorPool();
    const t = pool.take(16);
    pool.give(t);
    pool.give(t);
    expect(pool.take(16)).toBe(t);
    expect(pool.take(16)).not.toBe(t);
    pool.give(new Float32Array(16)); // not shared memory: not the pool's
    expect(pool.take(16).buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});
