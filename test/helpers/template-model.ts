import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { listBoardSamples } from '../../src/eval/deeppcb-layout.js';
import { openModel, type OpenModel } from '../../src/inspect/model.js';
import { repoRoot, sharedRoot } from './model.js';

/** A real DeepPCB trainval board by group and id (tested image, template, truth file). */
export function deeppcbBoard(group: string, id: string) {
  return listBoardSamples(join(sharedRoot, 'data/deeppcb/trainval', group)).find((s) => s.id === id)!;
}

/** The shipped golden-template model, FP32 on one ORT thread, opened for the file's tests and closed after them. */
export function useTemplateModel(): () => OpenModel {
  let model: OpenModel | undefined;
  beforeAll(async () => {
    model = await openModel(join(repoRoot, 'models/deeppcb-template/model.json'), { precision: 'fp32', intraOpThreads: 1 });
  });
  afterAll(async () => {
    await model?.close();
  });
  return () => model!;
}
