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

/** An anomaly-map model's two outputs: `pred_score` [1,1] and an h x w `anomaly_map`. */
export function anomalyOutputs(score: number, h: number, w: number, map: number[]): TensorMap {
  return {
    pred_score: { type: 'float32', dims: [1, 1], data: Float32Array.of(score) },
    anomaly_map: { type: 'float32', dims: [1, 1, h, w], data: Float32Array.from(map) },
  };
}
