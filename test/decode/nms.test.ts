import { describe, expect, it } from 'vitest';
import { iouXywh, nmsClassAware } from '../../src/decode/nms.js';

describe('class-aware NMS', () => {
  it('suppresses only when IoU exceeds the threshold (not at equality)', () => {
    // Two 10x10 boxes overlapping by 5x10: IoU = 50 / 150 = 1/3.
    const boxes = Float32Array.from([0, 0, 10, 10, 5, 0, 15, 10]);
    const classes = Int32Array.from([0, 0]);
    const kept = new Int32Array(2);
    expect(nmsClassAware(boxes, classes, 2, 0.3, 10, kept)).toBe(1);
    expect(nmsClassAware(boxes, classes, 2, 1 / 3 + 1e-6, 10, kept)).toBe(2);
  });

  it('stops at maxKeep', () => {
    const boxes = Float32Array.from([0, 0, 1, 1, 10, 10, 11, 11, 20, 20, 21, 21]);
    const kept = new Int32Array(3);
    expect(nmsClassAware(boxes, Int32Array.from([0, 0, 0]), 3, 0.5, 2, kept)).toBe(2);
    expect([...kept.subarray(0, 2)]).toEqual([0, 1]);
  });

  it('computes IoU of xywh boxes', () => {
    expect(iouXywh([0, 0, 10, 10], [5, 0, 10, 10])).toBeCloseTo(1 / 3, 9);
    expect(iouXywh([0, 0, 10, 10], [20, 20, 5, 5])).toBe(0);
  });
});
