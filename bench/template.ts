/**
 * The golden-template kind on this CPU, per 640x640 DeepPCB pair, through the camera chain the
 * daemon runs (src/inspect/camera.ts): time per stage (registration, tolerant difference + blobs,
 * patch cutting, the classifier on ONNX Runtime, the verdict rules), and the false rejects a line
 * would see: each board's template judged against itself, moved by a random sub-pixel shift and a
 * small turn and re-lit, must PASS. Images are read before timing starts.
 *
 *   node dist/bench/template.js --model models/deeppcb-template/model.json --data ../shared/data/deeppcb/trainval \
 *     --split tools/template/deeppcb-split.json --part validation [--precision fp32|int8] [--limit N] [--threads 1] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { listBoardSamples } from '../src/eval/deeppcb-layout.js';
import { errorCode } from '../src/errors.js';
import { cameraInspection, inspectFrame } from '../src/inspect/camera.js';
import { openModel } from '../src/inspect/model.js';
import { ReferenceBook } from '../src/inspect/template/references.js';
import type { TemplatePrepared } from '../src/inspect/template/stage.js';
import { opencv, type Mat } from '../src/preprocess/opencv.js';
import { readImageFile } from '../src/source/read-image.js';
import { rulesFromSpec } from '../src/verdict/rules.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/deeppcb-template/model.json' },
    data: { type: 'string', default: '../shared/data/deeppcb/trainval' },
    split: { type: 'string', default: 'tools/template/deeppcb-split.json' },
    part: { type: 'string', default: 'validation' },
    precision: { type: 'string', default: 'fp32' },
    limit: { type: 'string' },
    threads: { type: 'string', default: '1' },
    json: { type: 'string' },
    seed: { type: 'string', default: '7' },
  },
});
const cv = opencv();
const groups: string[] = JSON.parse(readFileSync(values.split!, 'utf8'))[values.part!];
let samples = listBoardSamples(values.data!).filter((s) => groups.includes(s.group.split('/').pop()!));
if (values.limit) samples = samples.filter((_, i) => i % Math.ceil(samples.length / Number(values.limit)) === 0);
const model = await openModel(values.model!, { precision: values.precision as 'fp32' | 'int8', intraOpThreads: Number(values.threads) });
const book = new ReferenceBook(model.spec.template!.registration);
const rules = rulesFromSpec(model.spec);
const inspection = cameraInspection('bench', model, rules, undefined, book);

// A small seeded generator, so the moved and re-lit templates are the same on every run.
let state = Number(values.seed);
const rand = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const between = (lo: number, hi: number) => lo + (hi - lo) * rand();

function movedAndRelit(template: Mat): { frame: Mat; how: string } {
  const grey = template.channels === 1 ? template : template.cvtColor(cv.COLOR_BGR2GRAY);
  const dx = between(-3, 3);
  const dy = between(-3, 3);
  const deg = between(-0.5, 0.5);
  const gain = between(0.85, 1.15);
  const offset = between(-15, 15);
  const m = cv.getRotationMatrix2D(new cv.Point2(grey.cols / 2, grey.rows / 2), deg, 1).getDataAsArray() as number[][];
  m[0]![2]! += dx;
  m[1]![2]! += dy;
  const frame = grey
    .warpAffine(new cv.Mat(m, cv.CV_64F), new cv.Size(grey.cols, grey.rows), cv.INTER_LINEAR, cv.BORDER_REPLICATE)
    .convertTo(cv.CV_8U, gain, offset);
  return { frame, how: `shift (${dx.toFixed(2)}, ${dy.toFixed(2)}) px, ${deg.toFixed(2)}°, gain ${gain.toFixed(2)}, offset ${offset.toFixed(1)}` };
}

const stages: Record<string, number[]> = { register: [], difference: [], patches: [], classify: [], rules: [], total: [] };
const candidates: number[] = [];
const verdicts = { tested: { PASS: 0, FAIL: 0, ERROR: 0 }, self: { PASS: 0, FAIL: 0, ERROR: 0 } };
const falseRejects: string[] = [];
const errors: Record<string, number> = {};
for (const [i, s] of samples.entries()) {
  const tested = await readImageFile(s.tested);
  const template = await readImageFile(s.template);
  await book.put(s.id, template);
  const { frame: self, how } = movedAndRelit(template);
  for (const [kind, image] of [['tested', tested], ['self', self]] as const) {
    const t0 = performance.now();
    try {
      const { decision, prepared } = await inspectFrame(inspection, { camera: 'bench', frameId: i, capturedAt: Date.now(), partId: s.id, recipe: s.id, image });
      const total = performance.now() - t0;
      const st = (prepared as TemplatePrepared).stageMs;
      if (kind === 'tested') {
        stages.register!.push(st.registerMs);
        stages.difference!.push(st.differenceMs);
        stages.patches!.push(st.patchesMs);
        stages.total!.push(total);
        candidates.push((prepared as TemplatePrepared).regions?.length ?? 0);
      }
      verdicts[kind][decision.verdict === 'FAIL' ? 'FAIL' : 'PASS']++;
      if (kind === 'self' && decision.verdict === 'FAIL') falseRejects.push(`${s.id}: ${how}: ${decision.defects.map((d) => `${d.label} ${d.score.toFixed(2)}`).join(', ')}`);
    } catch (err) {
      verdicts[kind].ERROR++;
      errors[`${kind} ${errorCode(err)}`] = (errors[`${kind} ${errorCode(err)}`] ?? 0) + 1;
    }
  }
  tested.release();
  template.release();
  self.release();
  book.remove(s.id);
}
// The classifier and rules times, measured apart: the chain's inspectFrame folds them into total.
{
  const s = samples[0]!;
  const template = await readImageFile(s.template);
  await book.put('x', template);
  const tested = await readImageFile(s.tested);
  for (let k = 0; k < 50; k++) {
    const prepared = await inspection.prepare({ camera: 'bench', frameId: k, capturedAt: Date.now(), partId: null, recipe: 'x', image: tested });
    const t0 = performance.now();
    const outputs = await inspection.infer(prepared, model.backend);
    const t1 = performance.now();
    inspection.judge(outputs, prepared);
    stages.classify!.push(t1 - t0);
    stages.rules!.push(performance.now() - t1);
  }
}
book.close();
await model.close();

const pct = (xs: number[], q: number) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))]! : NaN;
};
const summary = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, { p50: +pct(v, 0.5).toFixed(2), p99: +pct(v, 0.99).toFixed(2), mean: +(v.reduce((a, b) => a + b, 0) / v.length).toFixed(2) }]));
const result = {
  model: model.info,
  part: values.part,
  boards: samples.length,
  threads: Number(values.threads),
  msPerPair: summary,
  pairsPerSecond: +(1000 / summary.total!.mean).toFixed(1),
  candidatesPerBoard: +(candidates.reduce((a, b) => a + b, 0) / Math.max(1, candidates.length)).toFixed(1),
  verdicts,
  falseRejects: { count: falseRejects.length, of: samples.length, examples: falseRejects.slice(0, 10) },
  errors,
};
if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 1) + '\n');
console.log(JSON.stringify(result, null, 1));
