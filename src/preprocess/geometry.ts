import type { InputSpec } from '../model/spec.js';

/**
 * Maps model-input pixels back to frame pixels: frameX = (inputX - padLeft) / scaleX.
 * Decoders use it so boxes land on the frame the camera took, not on the letterboxed tensor.
 */
export interface InputTransform {
  frameWidth: number;
  frameHeight: number;
  scaleX: number;
  scaleY: number;
  padLeft: number;
  padTop: number;
}

/**
 * A part of the frame the input was cut from (the golden-template kind: one patch per blob of
 * difference), in frame pixels; the decoder gives each its candidate.
 */
export interface InputRegion {
  box: [number, number, number, number];
  areaPx: number;
  /** Golden-template regions: the blob's topology cell (src/inspect/template/topology.ts), 0-8. */
  topology?: number;
  /**
   * The probability this region's class needs before it is a candidate at all (the thin pass's
   * regions: a more sensitive comparison, so only what the classifier is sure of counts).
   */
  minScore?: number;
}

/** Where a frame lands in the model's input, and how it is resized to get there. */
export interface ResizeGeometry {
  /** The resized picture inside the input: all of it for stretch, the letterbox's inner rectangle otherwise. */
  inner: { w: number; h: number; left: number; top: number; right: number; bottom: number };
  /** OpenCV's interpolation for the resize (identity: same size, no resize). */
  interpolation: 'identity' | 'area' | 'linear';
  transform: InputTransform;
}

/**
 * The one computation of a frame's resize into the model input, shared by the CPU path
 * (preprocess.ts, OpenCV) and the GPU path (infer/tensorrt/plan.ts, the CUDA kernel), so both make
 * the same tensor and a decoder maps boxes back through the same transform whichever ran.
 */
export function resizeGeometry(input: InputSpec, frameWidth: number, frameHeight: number): ResizeGeometry {
  const W = input.width;
  const H = input.height;
  const w = frameWidth;
  const h = frameHeight;
  if (input.resize === 'stretch') {
    // INTER_AREA is the anti-aliasing choice when shrinking; it degenerates to bilinear-like when growing.
    const shrinking = W <= w && H <= h;
    return {
      inner: { w: W, h: H, left: 0, top: 0, right: 0, bottom: 0 },
      interpolation: W === w && H === h ? 'identity' : shrinking ? 'area' : 'linear',
      transform: { frameWidth: w, frameHeight: h, scaleX: W / w, scaleY: H / h, padLeft: 0, padTop: 0 },
    };
  }
  // Same arithmetic as Ultralytics' LetterBox (centred, INTER_LINEAR, +-0.1 rounding of the pads),
  // so models exported from it see the padding they were trained with.
  const r = Math.min(W / w, H / h);
  const newW = Math.round(w * r);
  const newH = Math.round(h * r);
  const dw = (W - newW) / 2;
  const dh = (H - newH) / 2;
  // Math.max also turns Math.round(-0.1) = -0 into 0, which OpenCV's binding rejects as "not an int".
  const top = Math.max(0, Math.round(dh - 0.1));
  const bottom = Math.max(0, Math.round(dh + 0.1));
  const left = Math.max(0, Math.round(dw - 0.1));
  const right = Math.max(0, Math.round(dw + 0.1));
  return {
    inner: { w: newW, h: newH, left, top, right, bottom },
    interpolation: newW === w && newH === h ? 'identity' : 'linear',
    transform: { frameWidth: w, frameHeight: h, scaleX: newW / w, scaleY: newH / h, padLeft: left, padTop: top },
  };
}
