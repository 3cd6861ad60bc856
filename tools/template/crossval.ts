/**
 * Chooses the golden-template model's box rule and per-class thresholds on TRAIN boards scored by
 * classifiers that never saw them (out-of-fold, by board group: tools/template/crossval_patches.py),
 * so the operating point is set where the classifier is as unsure as on a new board. Validation
 * is not read. Each board's regions (raw blob boxes from extract-patches' OUT.boards.json) and their
 * held-out probabilities go through the daemon's own decoder (PatchClassifierDecoder) and the
 * paper's scoring (detection-score.ts); per box rule, per-class thresholds are raised or lowered
 * one class at a time while the pooled F-score improves (a few passes). Prints the grid, best first.
 *
 *   node .train/js/tools/template/crossval.js --boards DIR --groups group00041,... --probs OOF.json \
 *     [--model models/deeppcb-template/model.json] [--pads 2,4,6,8] [--mins 16,20,24,28,32]
 * DIR holds <group>.boards.json; OOF.json is {group: [[p0..p6], ...]} in the group's patch order.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PatchClassifierDecoder } from '../../src/decode/patch-classifier.js';
import { DEEPPCB_CLASSES } from '../../src/eval/deeppcb-layout.js';
import { scoreDetections, type Box, type ImageDetections, type ScoredBox, type TruthBox } from '../../src/eval/detection-score.js';
import { loadModelSpec } from '../../src/model/spec.js';
import { candidateBox } from '../../src/inspect/template/stage.js';

interface BoardRecord {
  id: string;
  registered: boolean;
  truth: TruthBox[];
  first: number;
  boxes: Box[];
  areaPx: number[];
}

const { values } = parseArgs({ options: { boards: { type: 'string' }, groups: { type: 'string' }, probs: { type: 'string' }, model: { type: 'string', default: 'models/deeppcb-template/model.json' }, pads: { type: 'string', default: '2,4,6,8' }, mins: { type: 'string', default: '16,20,24,28,32' } } });
const spec = loadModelSpec(values.model!).spec;
const decoder = new PatchClassifierDecoder(spec);
const probs: Record<string, number[][]> = JSON.parse(readFileSync(values.probs!, 'utf8'));
const columns = spec.labels.length + 1;
const transform = { frameWidth: 640, frameHeight: 640, scaleX: 1, scaleY: 1, padLeft: 0, padTop: 0 };
const boards: Array<{ truth: TruthBox[]; found: ScoredBox[] }> = [];
for (const group of values.groups!.split(',')) {
  const records: BoardRecord[] = JSON.parse(readFileSync(`${values.boards}/${group}.boards.json`, 'utf8')).boards;
  const p = probs[group]!;
  for (const b of records) {
    if (!b.registered || b.boxes.length === 0) {
      boards.push({ truth: b.truth, found: [] });
      continue;
    }
    const rows = p.slice(b.first, b.first + b.boxes.length);
    const data = Float32Array.from(rows.flat());
    const decoded = decoder.decode({ [spec.decoder.type === 'patch-classifier' ? spec.decoder.output : 'probs']: { type: 'float32', dims: [rows.length, columns], data } }, transform, b.boxes.map((box, i) => ({ box, areaPx: b.areaPx[i]! })));
    boards.push({ truth: b.truth, found: decoded.candidates.map((c) => ({ label: c.label, score: c.score, box: c.box! })) });
  }
}

const grid = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9];
function score(images: Array<{ truth: TruthBox[]; found: ScoredBox[] }>, thresholds: Record<string, number>) {
  const d: ImageDetections[] = images.map((b) => ({ truth: b.truth, candidates: b.found, reported: b.found.filter((f) => f.score >= thresholds[f.label]!) }));
  return scoreDetections(d, DEEPPCB_CLASSES);
}

const rows: Array<{ padPx: number; minSidePx: number; mAP: number; fScore: number; fAt05: number; recall: number; precision: number; thresholds: Record<string, number> }> = [];
for (const padPx of values.pads!.split(',').map(Number)) {
  for (const minSidePx of values.mins!.split(',').map(Number)) {
    const boxed = boards.map((b) => ({ truth: b.truth, found: b.found.map((f) => ({ ...f, box: candidateBox(f.box, { padPx, minSidePx }) })) }));
    const th: Record<string, number> = Object.fromEntries(DEEPPCB_CLASSES.map((c) => [c, 0.5]));
    const at05 = score(boxed, th);
    let best = at05.fScore;
    // Coordinate ascent on the pooled F: each class's threshold over the grid, the others held.
    for (let pass = 0; pass < 3; pass++) {
      let moved = false;
      for (const c of DEEPPCB_CLASSES) {
        for (const t of grid) {
          const f = score(boxed, { ...th, [c]: t }).fScore;
          if (f > best + 1e-9) {
            best = f;
            th[c] = t;
            moved = true;
          }
        }
      }
      if (!moved) break;
    }
    const s = score(boxed, th);
    rows.push({ padPx, minSidePx, mAP: +s.mAP.toFixed(2), fScore: +s.fScore.toFixed(2), fAt05: +at05.fScore.toFixed(2), recall: +s.recall.toFixed(2), precision: +s.precision.toFixed(2), thresholds: th });
  }
}
rows.sort((a, b) => b.mAP + b.fScore - (a.mAP + a.fScore));
const top = rows[0]!;
const boxed = boards.map((b) => ({ truth: b.truth, found: b.found.map((f) => ({ ...f, box: candidateBox(f.box, top) })) }));
const perClass = Object.fromEntries(Object.entries(score(boxed, top.thresholds).perClass).map(([c, v]) => [c, { ap: +v.ap.toFixed(2), recall: v.recall, precision: v.precision }]));
console.log(JSON.stringify({ boards: boards.length, best: rows.slice(0, 10), bestPerClass: perClass }, null, 1));
