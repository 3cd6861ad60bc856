import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Candidate } from '../../src/decode/decoder.js';
import { PatchClassifierDecoder } from '../../src/decode/patch-classifier.js';
import { listBoardSamples, type BoardSample } from '../../src/eval/deeppcb-layout.js';
import { cameraInspection, inspectFrame } from '../../src/inspect/camera.js';
import { openModel, type OpenModel } from '../../src/inspect/model.js';
import { ReferenceBook } from '../../src/inspect/template/references.js';
import type { ModelSpec } from '../../src/model/spec.js';
import type { InputRegion } from '../../src/preprocess/geometry.js';
import { readImageFile } from '../../src/source/read-image.js';
import { classThreshold, rulesFromSpec } from '../../src/verdict/rules.js';
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

/**
 * Judges a real board against its own template with the opened model under `spec` (a variant of the
 * shipped spec: the decoder is rebuilt from it, as openModel would). Returns the reports at or above
 * their class's threshold and the template stage's regions (boxes, topology cells).
 */
export async function judgeBoard(model: OpenModel, spec: ModelSpec, sample: BoardSample): Promise<{ reports: Candidate[]; regions: InputRegion[] }> {
  const book = new ReferenceBook(spec.template!.registration);
  await book.put('board', await readImageFile(sample.template));
  const rules = rulesFromSpec(spec);
  const decoder = new PatchClassifierDecoder(spec);
  const decode: OpenModel['decode'] = (outputs, input) => decoder.decode(outputs, input.transform, 'regions' in input ? input.regions : undefined);
  const inspection = cameraInspection('board', { ...model, spec, decoder, decode }, rules, undefined, book);
  try {
    const { decoded, prepared } = await inspectFrame(inspection, { camera: 'board', frameId: 1, capturedAt: Date.now(), partId: null, recipe: 'board', image: await readImageFile(sample.tested) });
    return {
      reports: decoded.candidates.filter((c) => c.score >= classThreshold(rules, c.label)),
      regions: 'regions' in prepared ? (prepared.regions ?? []) : [],
    };
  } finally {
    book.close();
  }
}
