import type { InputTransform } from '../preprocess/preprocess.js';

/**
 * A box in model-input pixels (x1, y1, x2, y2) mapped through the letterbox/stretch back to frame
 * pixels and clipped to the frame, as [x, y, w, h]; undefined when nothing of it lies on the frame
 * (a box entirely in the letterbox padding).
 */
export function inputBoxToFrame(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  t: InputTransform,
): [number, number, number, number] | undefined {
  const fx1 = clamp((x1 - t.padLeft) / t.scaleX, 0, t.frameWidth);
  const fy1 = clamp((y1 - t.padTop) / t.scaleY, 0, t.frameHeight);
  const fx2 = clamp((x2 - t.padLeft) / t.scaleX, 0, t.frameWidth);
  const fy2 = clamp((y2 - t.padTop) / t.scaleY, 0, t.frameHeight);
  const w = fx2 - fx1;
  const h = fy2 - fy1;
  if (!(w > 0 && h > 0)) return undefined;
  return [fx1, fy1, w, h];
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
