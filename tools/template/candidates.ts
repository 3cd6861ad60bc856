/**
 * Runs the golden-template chain (registration, difference, patches, the shipped classifier) over
 * one part of the DeepPCB split and writes every candidate with what the classifier does not see:
 * which pass found it (main / thin), its polarity (brighter or darker than the reference), its
 * area and topology cell, its mean contrast and the share of it next to a reference edge, and the
 * classifier's raw probabilities. tools/template/score-candidates.ts
 * then scores rules over them offline (the paper's way), so a rule is chosen on train boards without
 * re-running the chain, and validation is read once per rule that would ship.
 *
 *   node .train/js/tools/template/candidates.js --data ../shared/data/deeppcb/trainval \
 *     --split tools/template/deeppcb-split.json --part train --out .train/cand/train.json \
 *     [--model models/deeppcb-template/model.json] [--difference '{"thin":{...}}'] [--limit N]
 * The boxes written are raw blob boxes in frame pixels (the model's box rule is applied when scoring).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { listBoardSamples, readBoardBoxes } from '../../src/eval/deeppcb-layout.js';
import { floatOutput } from '../../src/decode/tensor.js';
import { TemplateRegistrationError } from '../../src/errors.js';
import { openModel } from '../../src/inspect/model.js';
import { ReferenceBook } from '../../src/inspect/template/references.js';
import { prepareAgainstReference } from '../../src/inspect/template/stage.js';
import { readImageFile } from '../../src/source/read-image.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    split: { type: 'string' },
    part: { type: 'string', default: 'train' },
    out: { type: 'string' },
    model: { type: 'string', default: 'models/deeppcb-template/model.json' },
    difference: { type: 'string' },
    limit: { type: 'string' },
  },
});
const model = await openModel(values.model!, { precision: 'fp32', intraOpThreads: 1 });
const t = model.spec.template!;
const spec = { ...model.spec, template: { ...t, difference: { ...t.difference, ...(values.difference ? JSON.parse(values.difference) : {}) }, box: { padPx: 0, minSidePx: 0 } } };
const groups: string[] = JSON.parse(readFileSync(values.split!, 'utf8'))[values.part!];
let samples = listBoardSamples(values.data!).filter((s) => groups.includes(s.group.split('/').pop()!));
if (values.limit) samples = samples.filter((_, i) => i % Math.ceil(samples.length / Number(values.limit)) === 0);
const output = model.spec.decoder.type === 'patch-classifier' ? model.spec.decoder.output : 'probs';
const columns = model.spec.labels.length + 1;
const book = new ReferenceBook(t.registration);
const round1 = (x: number | undefined, k = 10) => (x === undefined ? undefined : Math.round(x * k) / k);
const boards = [];
for (const s of samples) {
  const truth = readBoardBoxes(s);
  const tested = await readImageFile(s.tested);
  const template = await readImageFile(s.template);
  await book.put(s.id, template);
  template.release();
  const board = { id: s.id, group: s.group.split('/').pop()!, registered: false, truth, regions: [] as unknown[], probs: [] as number[][] };
  try {
    const prepared = await prepareAgainstReference(tested, book.forFrame({ camera: 'candidates', recipe: s.id }), spec, { blobFeatures: true });
    board.registered = true;
    const regions = prepared.regions.map((r, i) => ({ box: r.box, areaPx: r.areaPx, topology: r.topology, pass: prepared.blobs[i]!.pass, extra: prepared.blobs[i]!.extra, contrast: round1(prepared.blobs[i]!.contrast), edgeShare: round1(prepared.blobs[i]!.edgeShare, 100) }));
    const { data } = floatOutput(await model.run(prepared), output);
    board.regions = regions;
    board.probs = regions.map((_, i) => Array.from(data.subarray(i * columns, (i + 1) * columns), (p) => +p.toFixed(5)));
  } catch (err) {
    // An unregistrable board reports nothing (its truth boxes count as missed), as in the daemon's ERROR.
    if (!(err instanceof TemplateRegistrationError)) throw err;
  } finally {
    tested.release();
    book.remove(s.id);
  }
  boards.push(board);
}
book.close();
await model.close();
writeFileSync(values.out!, JSON.stringify({ part: values.part, model: values.model, difference: spec.template.difference, boards }));
console.log(JSON.stringify({ boards: boards.length, candidates: boards.reduce((n, b) => n + b.regions.length, 0) }));
