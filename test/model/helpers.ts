import type { OpenModel } from '../../src/infer/model.js';
import type { Mat } from '../../src/preprocess/opencv.js';

export interface Outputs {
  score: number;
  map: Float32Array;
  mapDims: readonly number[];
}

/** Runs one image through the daemon's own path (prepare -> backend) and returns the raw outputs. */
export async function rawOutputs(model: OpenModel, image: Mat): Promise<Outputs> {
  const out = await model.run(model.prepare(image));
  const s = out['pred_score']!;
  const m = out['anomaly_map']!;
  return { score: (s.data as Float32Array)[0]!, map: m.data as Float32Array, mapDims: m.dims };
}

export function inUnitRange(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (!(v >= 0 && v <= 1)) return false;
  }
  return true;
}

/** Mann-Whitney AUROC, ties count half. */
export function auroc(scores: number[], labels: number[]): number {
  let gt = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i]! > scores[j]!) gt += 1;
      else if (scores[i] === scores[j]) gt += 0.5;
    }
  }
  return gt / pairs;
}
