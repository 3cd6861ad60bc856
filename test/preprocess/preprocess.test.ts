import { describe, expect, it } from 'vitest';
import { FrameError } from '../../src/errors.js';
import type { InputSpec } from '../../src/model/spec.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { preprocess } from '../../src/preprocess/preprocess.js';

/**
 * Preprocessing is checked against references computed here in plain JavaScript, independently of
 * OpenCV: a 2x2 box mean for an exact 2x INTER_AREA downscale, hand-placed letterbox pads,
 * per-channel normalisation, channel swap and planar (CHW) layout.
 */
function spec(over: Partial<InputSpec>): InputSpec {
  return {
    name: 'input',
    width: 8,
    height: 6,
    colorOrder: 'GRAY',
    layout: 'NCHW',
    resize: 'stretch',
    padValue: 114,
    scale: 1 / 255,
    mean: [0],
    std: [1],
    ...over,
  };
}

function seededBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

function mat(pixels: Uint8Array, rows: number, cols: number, channels: 1 | 3) {
  const cv = opencv();
  return new cv.Mat(Buffer.from(pixels), rows, cols, channels === 1 ? cv.CV_8UC1 : cv.CV_8UC3);
}

describe('preprocessing', () => {
  it('an exact 2x stretch downscale equals the rounded 2x2 box mean, scaled to [0,1]', async () => {
    const W = 16;
    const H = 12;
    const src = seededBytes(W * H, 1);
    const { tensor, dims } = await preprocess(mat(src, H, W, 1), spec({ width: 8, height: 6 }));
    expect(dims).toEqual([1, 1, 6, 8]);
    let maxDiff = 0;
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 8; x++) {
        const a = src[2 * y * W + 2 * x]! + src[2 * y * W + 2 * x + 1]! + src[(2 * y + 1) * W + 2 * x]! + src[(2 * y + 1) * W + 2 * x + 1]!;
        const ref = ((a + 2) >> 2) / 255;
        maxDiff = Math.max(maxDiff, Math.abs(tensor[y * 8 + x]! - ref));
      }
    }
    expect(maxDiff).toBeLessThan(1e-6);
  });

  it('converts BGR to planar RGB and applies per-channel mean/std', async () => {
    const W = 4;
    const H = 3;
    const src = seededBytes(W * H * 3, 2);
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const { tensor, dims } = await preprocess(mat(src, H, W, 3), spec({ width: W, height: H, colorOrder: 'RGB', mean, std }));
    expect(dims).toEqual([1, 3, H, W]);
    const plane = W * H;
    let maxDiff = 0;
    for (let i = 0; i < plane; i++) {
      const bgr = [src[3 * i]!, src[3 * i + 1]!, src[3 * i + 2]!];
      const rgb = [bgr[2]!, bgr[1]!, bgr[0]!];
      for (let c = 0; c < 3; c++) {
        const ref = (rgb[c]! / 255 - mean[c]!) / std[c]!;
        maxDiff = Math.max(maxDiff, Math.abs(tensor[c * plane + i]! - ref));
      }
    }
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('keeps interleaved channels for NHWC layouts', async () => {
    const src = seededBytes(2 * 2 * 3, 3);
    const { tensor, dims } = await preprocess(mat(src, 2, 2, 3), spec({ width: 2, height: 2, colorOrder: 'BGR', layout: 'NHWC', scale: 1 }));
    expect(dims).toEqual([1, 2, 2, 3]);
    expect(Array.from(tensor)).toEqual(Array.from(src));
  });

  it('letterboxes like Ultralytics: centred, pad value, and a transform back to frame pixels', async () => {
    // 40x20 mono into 16x16: scale 0.4 -> 16x8 content, 4 rows of pad above and below.
    const src = new Uint8Array(40 * 20).fill(200);
    const input = spec({ width: 16, height: 16, resize: 'letterbox', colorOrder: 'GRAY', scale: 1 });
    const { tensor, transform } = await preprocess(mat(src, 20, 40, 1), input);
    expect(transform).toEqual({ frameWidth: 40, frameHeight: 20, scaleX: 0.4, scaleY: 0.4, padLeft: 0, padTop: 4 });
    for (let y = 0; y < 16; y++) {
      const expected = y < 4 || y >= 12 ? 114 : 200;
      for (let x = 0; x < 16; x++) expect(tensor[y * 16 + x], `pixel ${x},${y}`).toBe(expected);
    }
    // A point in the input maps back to the frame: input (8, 8) is the frame's centre (20, 10).
    expect([(8 - transform.padLeft) / transform.scaleX, (8 - transform.padTop) / transform.scaleY]).toEqual([20, 10]);
  });

  it('turns grey frames into three equal channels for colour models', async () => {
    const src = seededBytes(4 * 4, 4);
    const { tensor } = await preprocess(mat(src, 4, 4, 1), spec({ width: 4, height: 4, colorOrder: 'RGB', scale: 1 }));
    for (let c = 0; c < 3; c++) expect(Array.from(tensor.subarray(c * 16, (c + 1) * 16))).toEqual(Array.from(src));
  });

  it('rejects empty, non-8-bit and 4-channel frames with INSPECTD_FRAME_INVALID', async () => {
    const cv = opencv();
    const input = spec({});
    await expect(preprocess(new cv.Mat(), input)).rejects.toThrow(FrameError);
    await expect(preprocess(new cv.Mat(10, 10, cv.CV_16UC1), input)).rejects.toThrow(/8-bit/);
    await expect(preprocess(new cv.Mat(10, 10, cv.CV_8UC4), input)).rejects.toThrow(/channels/);
  });

  it('prepares a 2448x2048 frame off the main thread into the same tensor as a 2x2 box mean of it', async () => {
    // Above OFF_MAIN_THREAD_PIXELS the resize runs on libuv's pool; the result must not change.
    const W = 2448;
    const H = 2048;
    const src = seededBytes(W * H, 9);
    const { tensor, dims } = await preprocess(mat(src, H, W, 1), spec({ width: W / 2, height: H / 2, scale: 1 }));
    expect(dims).toEqual([1, 1, H / 2, W / 2]);
    let maxDiff = 0;
    for (let y = 0; y < H / 2; y += 37) {
      for (let x = 0; x < W / 2; x += 41) {
        const i = 2 * y * W + 2 * x;
        const mean = (src[i]! + src[i + 1]! + src[i + W]! + src[i + W + 1]!) / 4;
        // INTER_AREA's exact 2x case rounds the mean to the nearest integer (ties to even).
        maxDiff = Math.max(maxDiff, Math.abs(tensor[y * (W / 2) + x]! - mean));
      }
    }
    expect(maxDiff).toBeLessThanOrEqual(0.5);
  });
});
