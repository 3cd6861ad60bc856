/**
 * Chooses the golden-template model's box rule (template.box.padPx, minSidePx) and verdict
 * threshold on the TRAIN part of the split only: the chain runs once per board with the raw blob
 * boxes kept, then every combination is scored the paper's way (detection-score.ts). Prints the
 * grid, best first; the chosen values go into model.json by hand (validation is only reported).
 *
 *   node .train/js/tools/template/tune.js --data ../shared/data/deeppcb/trainval --split tools/template/deeppcb-split.json --part train
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { listBoardSamples, readBoardBoxes, DEEPPCB_CLASSES } from '../../src/eval/deeppcb-layout.js';
import { scoreDetections, type ImageDetections, type ScoredBox, type TruthBox } from '../../src/eval/detection-score.js';
import { cameraInspection, inspectFrame } from '../../src/inspect/camera.js';
import { openModel } from '../../src/inspect/model.js';
import { ReferenceBook } from '../../src/inspect/template/references.js';
import { candidateBox } from '../../src/inspect/template/stage.js';
import { readImageFile } from '../../src/source/read-image.js';
import { rulesFromSpec } from '../../src/verdict/rules.js';

const { values } = parseArgs({ options: { data: { type: 'string' }, split: { type: 'string' }, part: { type: 'string', default: 'train' }, model: { type: 'string', default: 'models/deeppcb-template/model.json' }, limit: { type: 'string' } } });
const groups: string[] = JSON.parse(readFileSync(values.split!, 'utf8'))[values.part!];
let samples = listBoardSamples(values.data!).filter((s) => groups.includes(s.group.split('/').pop()!));
if (values.limit) samples = samples.filter((_, i) => i % Math.ceil(samples.length / Number(values.limit)) === 0);
const model = await openModel(values.model!, { precision: 'fp32', intraOpThreads: 1 });
// Raw blob boxes: the box rule is applied below, per combination.
const raw = { ...model.spec, template: { ...model.spec.template!, box: { padPx: 0, minSidePx: 0 } } };
const rawModel = { ...model, spec: raw };
const book = new ReferenceBook(raw.template.registration);
const inspection = cameraInspection('tune', rawModel, rulesFromSpec(raw, { threshold: 0 }), undefined, book);
const boards: Array<{ truth: TruthBox[]; found: ScoredBox[] }> = [];
for (const [i, s] of samples.entries()) {
  const truth = readBoardBoxes(s);
  const tested = await readImageFile(s.tested);
  const ref = await readImageFile(s.template);
  await book.put(s.id, ref);
  ref.release();
  try {
    const { decoded } = await inspectFrame(inspection, { camera: 'tune', frameId: i, capturedAt: Date.now(), partId: null, recipe: s.id, image: tested });
    boards.push({ truth, found: decoded.candidates.map((c) => ({ label: c.label, score: c.score, box: c.box! })) });
  } catch {
    boards.push({ truth, found: [] });
  }
  tested.release();
  book.remove(s.id);
}
await model.close();
const rows: Array<{ padPx: number; minSidePx: number; threshold: number; mAP: number; fScore: number }> = [];
for (const padPx of [0, 2, 4, 6, 8, 10, 12]) {
  for (const minSidePx of [0, 16, 20, 24, 28, 32, 36]) {
    const boxed = boards.map((b) => ({ truth: b.truth, found: b.found.map((f) => ({ ...f, box: candidateBox(f.box, { padPx, minSidePx }) })) }));
    for (const threshold of [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]) {
      const images: ImageDetections[] = boxed.map((b) => ({ truth: b.truth, candidates: b.found, reported: b.found.filter((f) => f.score >= threshold) }));
      const s = scoreDetections(images, DEEPPCB_CLASSES);
      rows.push({ padPx, minSidePx, threshold, mAP: +s.mAP.toFixed(2), fScore: +s.fScore.toFixed(2) });
    }
  }
}
rows.sort((a, b) => b.mAP + b.fScore - (a.mAP + a.fScore));
console.log(JSON.stringify({ part: values.part, boards: boards.length, best: rows.slice(0, 15) }, null, 1));
