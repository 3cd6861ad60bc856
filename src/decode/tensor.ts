import { DecodeError } from '../errors.js';
import type { TensorData, TensorMap } from '../infer/backend.js';

/** The named float32 output, or a DecodeError that says what the model gave instead. */
export function floatOutput(outputs: TensorMap, name: string): { data: Float32Array; dims: number[] } {
  const t: TensorData | undefined = outputs[name];
  if (!t) {
    throw new DecodeError(`model gave no output "${name}" (it gave: ${Object.keys(outputs).join(', ') || 'nothing'})`);
  }
  if (t.type !== 'float32' || !(t.data instanceof Float32Array)) {
    throw new DecodeError(`output "${name}" is ${t.type}, expected float32`);
  }
  return { data: t.data, dims: t.dims };
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
