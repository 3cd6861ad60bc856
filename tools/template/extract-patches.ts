/**
 * Cuts the golden-template stage's candidate patches from DeepPCB-layout samples and labels each
 * by the truth box it lies in (class 1-6) or nuisance (0): the classifier's training data, made by
 * the daemon's own registration, difference and patch code, so it trains on what the daemon feeds it.
 *
 *   node .train/js/tools/template/extract-patches.js --data DIR --split tools/template/deeppcb-split.json \
 *     --part train --spec models/deeppcb-template/model.json --out .train/deeppcb/train [--limit N] [--input JSON]
 * Writes OUT.patches.npy (uint8 N x 3 x H x W), OUT.labels.npy (uint8 N), OUT.meta.json, and
 * OUT.boards.json (per board: its truth boxes, whether it registered, and each of its patches' raw
 * blob box in frame pixels and the pass that found it (main / thin), so a classifier's probabilities on these patches can be scored as
 * detections offline: tools/template/crossval.ts); prints how many truth boxes a candidate box
 * reaches at IoU > 0.33 (the detector's recall bound).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { listBoardSamples, readBoardBoxes, DEEPPCB_CLASSES } from '../../src/eval/deeppcb-layout.js';
import { iou, PAPER_IOU } from '../../src/eval/detection-score.js';
import { loadModelSpec } from '../../src/model/spec.js';
import { ReferenceBook } from '../../src/inspect/template/references.js';
import { candidateBox, prepareAgainstReference } from '../../src/inspect/template/stage.js';
import { readImageFile } from '../../src/source/read-image.js';
import type { TopologyWindow } from '../../src/inspect/template/topology.js';
import { writeNpy } from '../model/npy.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    split: { type: 'string' },
    part: { type: 'string' },
    spec: { type: 'string' },
    out: { type: 'string' },
    limit: { type: 'string' },
    template: { type: 'string' },
    input: { type: 'string' },
    'topology-variants': { type: 'string' },
  },
});
// --topology-variants '[{"marginPx":8,"isolate":false},...]': each patch's topology cell under these
// windows too (OUT.cells.json: [variant][patch], beside the daemon's own cell), for choosing
// decoder.topology.window out of fold (topology_oof.py --cells).
const topologyVariants: TopologyWindow[] = values['topology-variants'] ? JSON.parse(values['topology-variants']) : [];
const cells: number[][] = topologyVariants.map(() => []);
const daemonCells: number[] = [];
const spec = loadModelSpec(values.spec!).spec;
// --template '{...}' overrides the spec's template block while parameters are being chosen.
// --input '{"width":64,"height":64}' cuts larger windows (more context; a 48 px crop of their centre is
// the same patch a 48 px model gets, so one extraction serves both while the size is being chosen).
const tspec = {
  ...spec,
  ...(values.template ? { template: { ...spec.template!, ...JSON.parse(values.template) } } : {}),
  ...(values.input ? { input: { ...spec.input, ...JSON.parse(values.input) } } : {}),
};
// The stage runs with raw blob boxes (mapped to the frame); the model's box rule is applied here
// for the label, so the raw box can be kept for choosing that rule on held-out predictions.
const boxRule = tspec.template!.box;
const rawSpec = { ...tspec, template: { ...tspec.template!, box: { padPx: 0, minSidePx: 0 } } };
const groups: string[] = JSON.parse(readFileSync(values.split!, 'utf8'))[values.part!];
let samples = listBoardSamples(values.data!).filter((s) => groups.includes(s.group.split('/').pop()!));
if (values.limit) samples = samples.filter((_, i) => i % Math.ceil(samples.length / Number(values.limit)) === 0);

const { width: w, height: h } = tspec.input;
const chunks: Uint8Array[] = [];
const labels: number[] = [];
let truths = 0;
let reached = 0;
let candidates = 0;
const unregistered: string[] = [];
const boards: Array<{ id: string; group: string; registered: boolean; truth: ReturnType<typeof readBoardBoxes>; first: number; boxes: Array<[number, number, number, number]>; areaPx: number[]; pass?: string[] }> = [];
const book = new ReferenceBook(tspec.template!.registration);
for (const s of samples) {
  const truth = readBoardBoxes(s);
  const tested = await readImageFile(s.tested);
  truths += truth.length;
  let prepared;
  try {
    const template = await readImageFile(s.template);
    await book.put(s.id, template);
    template.release();
    prepared = await prepareAgainstReference(tested, book.forFrame({ camera: 'extract', recipe: s.id }), rawSpec, { topologyVariants });
  } catch (err) {
    unregistered.push(`${s.id}: ${(err as Error).message}`);
    boards.push({ id: s.id, group: s.group.split('/').pop()!, registered: false, truth, first: labels.length, boxes: [], areaPx: [] });
    continue;
  } finally {
    tested.release();
    book.remove(s.id);
  }
  const hit = truth.map(() => false);
  boards.push({ id: s.id, group: s.group.split('/').pop()!, registered: true, truth, first: labels.length, boxes: prepared.regions.map((r) => r.box), areaPx: prepared.regions.map((r) => r.areaPx), pass: prepared.blobs.map((b) => b.pass) });
  prepared.regions.forEach((raw, i) => {
    daemonCells.push(raw.topology!);
    prepared.topologyVariants.forEach((v, k) => cells[k]!.push(v[i]!));
    const r = { box: candidateBox(raw.box, boxRule) };
    candidates++;
    // The truth box this candidate overlaps most (IoU > 0.33 as scored), else nuisance.
    let best = -1;
    let bestIou = PAPER_IOU;
    truth.forEach((t, k) => {
      const o = iou(r.box, t.box);
      if (o > bestIou) {
        bestIou = o;
        best = k;
      }
    });
    if (best >= 0) hit[best] = true;
    labels.push(best >= 0 ? DEEPPCB_CLASSES.indexOf(truth[best]!.label as (typeof DEEPPCB_CLASSES)[number]) + 1 : 0);
    const patch = new Uint8Array(3 * w * h);
    const src = prepared.tensor.subarray(i * 3 * w * h, (i + 1) * 3 * w * h);
    const { scale, mean, std } = tspec.input;
    for (let k = 0; k < patch.length; k++) patch[k] = Math.round((src[k]! * std[0]! + mean[0]!) / scale);
    chunks.push(patch);
  });
  reached += hit.filter(Boolean).length;
}
book.close();
const out = new Uint8Array(chunks.length * 3 * w * h);
chunks.forEach((c, i) => out.set(c, i * c.length));
if (values.out) {
  writeNpy(`${values.out}.patches.npy`, out, [chunks.length, 3, h, w]);
  writeNpy(`${values.out}.labels.npy`, Uint8Array.from(labels), [labels.length]);
  writeFileSync(`${values.out}.boards.json`, JSON.stringify({ boxRule, boards }));
  writeFileSync(`${values.out}.cells.json`, JSON.stringify({ daemon: daemonCells, variants: topologyVariants, cells }));
  writeFileSync(`${values.out}.meta.json`, JSON.stringify({ classes: ['nuisance', ...DEEPPCB_CLASSES], samples: samples.length, groups, spec: values.spec, template: tspec.template }, null, 1));
}
const perClass = ['nuisance', ...DEEPPCB_CLASSES].map((c, i) => `${c} ${labels.filter((l) => l === i).length}`).join(', ');
console.log(JSON.stringify({ unregistered, samples: samples.length, truths, reached, recallBound: (100 * reached) / truths, candidates, perClass }));
