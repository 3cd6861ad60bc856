import { parseModelSpec, type ModelSpec } from '../../src/model/spec.js';
import type { TensorMap } from '../../src/infer/backend.js';
import type { InputTransform } from '../../src/preprocess/preprocess.js';

/** A minimal valid model.json with the given decoder and labels, parsed through the real schema. */
export function specWith(decoder: Record<string, unknown>, labels: string[], extra: Record<string, unknown> = {}): ModelSpec {
  return parseModelSpec(
    {
      schema: 1,
      name: 'unit',
      version: '1',
      files: { fp32: 'model.onnx' },
      defaultPrecision: 'fp32',
      input: { name: 'images', width: 640, height: 640, colorOrder: 'RGB', resize: 'letterbox' },
      decoder,
      labels,
      thresholds: { default: 0.5 },
      ...extra,
    },
    'unit-test',
  );
}

export function tensor(name: string, dims: number[], data: ArrayLike<number>): TensorMap {
  return { [name]: { type: 'float32', dims, data: Float32Array.from(data) } };
}

/** Identity mapping: input pixels are frame pixels. */
export function identity(w: number, h: number): InputTransform {
  return { frameWidth: w, frameHeight: h, scaleX: 1, scaleY: 1, padLeft: 0, padTop: 0 };
}

/** Ultralytics letterbox of a 1280x720 frame into 640x640: scale 0.5, 140 px pad top and bottom. */
export const LETTERBOX_1280x720_TO_640: InputTransform = {
  frameWidth: 1280,
  frameHeight: 720,
  scaleX: 0.5,
  scaleY: 0.5,
  padLeft: 0,
  padTop: 140,
};
