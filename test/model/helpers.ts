import { afterAll, beforeAll } from 'vitest';
import { openModel, type OpenModel } from '../../src/inspect/model.js';
import type { Mat } from '../../src/preprocess/opencv.js';

export interface Outputs {
  score: number;
  map: Float32Array;
  mapDims: readonly number[];
}

/** Runs one image through the daemon's own path (prepare -> backend) and returns the raw outputs. */
export async function rawOutputs(model: OpenModel, image: Mat): Promise<Outputs> {
  const out = await model.run(await model.prepare(image));
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


/** Opens a model's FP32 and INT8 files (one ORT thread each) for a describe block, and closes them after. */
export function bothPrecisions(specPath: string): Partial<Record<'fp32' | 'int8', OpenModel>> {
  const models: Partial<Record<'fp32' | 'int8', OpenModel>> = {};
  beforeAll(async () => {
    models.fp32 = await openModel(specPath, { precision: 'fp32', intraOpThreads: 1 });
    models.int8 = await openModel(specPath, { precision: 'int8', intraOpThreads: 1 });
  });
  afterAll(async () => {
    await models.fp32?.close();
    await models.int8?.close();
  });
  return models;
}
