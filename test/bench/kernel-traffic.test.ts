import { describe, expect, it } from 'vitest';
import { kernelTraffic } from '../../bench/gpu/kernel-traffic.js';
import { SPECS } from '../../bench/gpu/frames.js';
import { planPreprocess } from '../../src/infer/tensorrt/plan.js';
import type { InputSpec } from '../../src/model/spec.js';

/**
 * The GPU benchmark's "bytes moved" (bench/gpu/kernel-traffic.ts) counts the DRAM sectors the CUDA
 * kernel truly reads. Expected values are worked out by hand from the resize arithmetic; on the
 * H200 Nsight Compute's dram__bytes_read.sum gave 4.66 MB for the BGR case and 5.04 MB for the
 * Bayer letterbox (bench/gpu/RESULTS.md).
 */
const yolo640: InputSpec = { ...SPECS['rgb-letterbox']!, width: 640, height: 640 };

describe('the GPU benchmark counts the bytes the preprocessing kernel truly moves', () => {
  it('a 3x letterbox shrink of BGR8 reads two source rows in three, every sector of them', () => {
    // 1920x1200 -> 640x400 inside 640x640: INTER_LINEAR taps rows 3d+1 and 3d+2 (800 of 1200); along
    // a row it reads 2 pixels in 3, so every 32-byte sector of those rows (5760 bytes = 180 sectors).
    const plan = planPreprocess(yolo640, { width: 1920, height: 1200, format: 'bgr8' });
    const t = kernelTraffic(plan);
    expect(t.readBytes).toBe(800 * 180 * 32);
    expect(t.readBytes).toBeLessThan(plan.frameBytes);
    expect(t.writeBytes).toBe(640 * 640 * 3 * 4);
  });

  it('Bayer reads the demosaic neighbours too, so a 3.8x shrink still touches the whole frame', () => {
    const plan = planPreprocess(yolo640, { width: 2448, height: 2048, format: 'bayer_rg8' }, 'float16');
    const t = kernelTraffic(plan);
    expect(t.readBytes).toBe(2448 * 2048);
    expect(t.writeBytes).toBe(640 * 640 * 3 * 2);
  });

  it('a plain Bayer letterbox without the neighbours would skip rows: the halo is what is counted', () => {
    // The same geometry as mono8 (no demosaic): taps only, so some rows are never read.
    const plan = planPreprocess(yolo640, { width: 2448, height: 2048, format: 'mono8' });
    expect(kernelTraffic(plan).readBytes).toBeLessThan(2448 * 2048);
  });
});
