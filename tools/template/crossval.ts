/**
 * Chooses the golden-template model's box rule and per-class thresholds on TRAIN boards scored by
 * classifiers that never saw them (out-of-fold, by board group: tools/template/crossval_patches.py),
 * so the operating point is set where the classifier is as unsure as on a new board. Validation
 * is not read. Each board's regions (raw blob boxes from extract-patches' OUT.boards.json) and their
 * held-out probabilities go through the daemon's own decoder (PatchClassifierDecoder) and the
 * paper's scoring (detection-score.ts); per box rule, per-class thresholds are raised or lowered
 * one class at a time while the pooled F-score improves (a few passes). Prints the grid, best first.
 * Then, at the best box rule, the shrunk rule (one global threshold, each class's own pulled towards
 * it by `shrink`) scored nested by board group for each shrink, and its thresholds on all groups at
 * the shrink that carried best (ties: the smaller shrink, the simpler rule).
 *
 *   node .train/js/tools/template/crossval.js --boards DIR --groups group00041,... --probs OOF.json \
 *     [--model models/deeppcb-template/model.json] [--pads 2,4,6,8] [--mins 16,20,24,28,32] [--shrinks 0,0.25,0.5,0.75,1] [--thin-min 0.9]
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
  /** Which pass found each region (extract-patches since v0.5.0; absent: all main). */
  pass?: string[];
}

const { values } = parseArgs({ options: { boards: { type: 'string' }, groups: { type: 'string' }, probs: { type: 'string' }, model: { type: 'string', default: 'models/deeppcb-template/model.json' }, pads: { type: 'string', default: '2,4,6,8' }, mins: { type: 'string', default: '16,20,24,28,32' }, shrinks: { type: 'string', default: '0,0.25,0.5,0.75,1' }, 'thin-min': { type: 'string' } } });
const spec = loadModelSpec(values.model!).spec;
const decoder = new PatchClassifierDecoder(spec);
const probs: Record<string, number[][]> = JSON.parse(readFileSync(values.probs!, 'utf8'));
const columns = spec.labels.length + 1;
// The score a thin-pass region's class needs (region.minScore, as the daemon's stage sets it): the model's own, or --thin-min.
const thinMin = values['thin-min'] !== undefined ? Number(values['thin-min']) : spec.template?.difference.thin?.minScore;
const transform = { frameWidth: 640, frameHeight: 640, scaleX: 1, scaleY: 1, padLeft: 0, padTop: 0 };
const boards: Array<{ group: string; truth: TruthBox[]; found: ScoredBox[] }> = [];
for (const group of values.groups!.split(',')) {
  const records: BoardRecord[] = JSON.parse(readFileSync(`${values.boards}/${group}.boards.json`, 'utf8')).boards;
  const p = probs[group]!;
  for (const b of records) {
    if (!b.registered || b.boxes.length === 0) {
      boards.push({ group, truth: b.truth, found: [] });
      continue;
    }
    const rows = p.slice(b.first, b.first + b.boxes.length);
    const data = Float32Array.from(rows.flat());
    const decoded = decoder.decode({ [spec.decoder.type === 'patch-classifier' ? spec.decoder.output : 'probs']: { type: 'float32', dims: [rows.length, columns], data } }, transform, b.boxes.map((box, i) => ({ box, areaPx: b.areaPx[i]!, ...(b.pass?.[i] === 'thin' && thinMin !== undefined ? { minScore: thinMin } : {}) })));
    boards.push({ group, truth: b.truth, found: decoded.candidates.map((c) => ({ label: c.label, score: c.score, box: c.box! })) });
  }
}

const grid = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9];
function score(images: Array<{ truth: TruthBox[]; found: ScoredBox[] }>, thresholds: Record<string, number>) {
  const d: ImageDetections[] = images.map((b) => ({ truth: b.truth, candidates: b.found, reported: b.found.filter((f) => f.score >= thresholds[f.label]!) }));
  return scoreDetections(d, DEEPPCB_CLASSES);
}

type Board = { group: string; truth: TruthBox[]; found: ScoredBox[] };
const uniform = (t: number): Record<string, number> => Object.fromEntries(DEEPPCB_CLASSES.map((c) => [c, t]));

/** Per-class thresholds by coordinate ascent on the pooled F from `start`: each class's over the grid, the others held. */
function ascend(images: Board[], start: Record<string, number>): Record<string, number> {
  const th = { ...start };
  let best = score(images, th).fScore;
  for (let pass = 0; pass < 3; pass++) {
    let moved = false;
    for (const c of DEEPPCB_CLASSES) {
      for (const t of grid) {
        const f = score(images, { ...th, [c]: t }).fScore;
        if (f > best + 1e-9) {
          best = f;
          th[c] = t;
          moved = true;
        }
      }
    }
    if (!moved) break;
  }
  return th;
}

/** The one threshold for every class that gives the best pooled F. */
function globalThreshold(images: Board[]): number {
  let best = -1;
  let at = 0.5;
  for (const t of grid) {
    const f = score(images, uniform(t)).fScore;
    if (f > best + 1e-9) {
      best = f;
      at = t;
    }
  }
  return at;
}

/**
 * The shrunk rule: one global threshold g, and each class's own best t_c pulled towards it,
 * g + shrink·(t_c − g) (shrink 0: one threshold; 1: free per-class thresholds, v0.2.0's rule). Per-class
 * optima chosen on a few hundred boxes each follow the noise of those boards (v0.2.0's copper at 0.3
 * lost 28 reports' precision on new boards), so how far to trust them is itself chosen out of fold.
 */
function shrunk(images: Board[], shrink: number): Record<string, number> {
  const g = globalThreshold(images);
  const own = ascend(images, uniform(g));
  return Object.fromEntries(DEEPPCB_CLASSES.map((c) => [c, +(g + shrink * (own[c]! - g)).toFixed(3)]));
}

const rows: Array<{ padPx: number; minSidePx: number; mAP: number; fScore: number; fAt05: number; recall: number; precision: number; thresholds: Record<string, number> }> = [];
for (const padPx of values.pads!.split(',').map(Number)) {
  for (const minSidePx of values.mins!.split(',').map(Number)) {
    const boxed = boards.map((b) => ({ ...b, found: b.found.map((f) => ({ ...f, box: candidateBox(f.box, { padPx, minSidePx }) })) }));
    const at05 = score(boxed, uniform(0.5));
    const th = ascend(boxed, uniform(0.5));
    const s = score(boxed, th);
    rows.push({ padPx, minSidePx, mAP: +s.mAP.toFixed(2), fScore: +s.fScore.toFixed(2), fAt05: +at05.fScore.toFixed(2), recall: +s.recall.toFixed(2), precision: +s.precision.toFixed(2), thresholds: th });
  }
}
rows.sort((a, b) => b.mAP + b.fScore - (a.mAP + a.fScore));
const top = rows[0]!;
const boxed = boards.map((b) => ({ ...b, found: b.found.map((f) => ({ ...f, box: candidateBox(f.box, top) })) }));
const perClass = (images: Board[], th: Record<string, number>) =>
  Object.fromEntries(Object.entries(score(images, th).perClass).map(([c, v]) => [c, { ap: +v.ap.toFixed(2), recall: v.recall === null ? null : +v.recall.toFixed(2), precision: v.precision === null ? null : +v.precision.toFixed(2) }]));

// Nested by board group (at the best box rule): each group's boards reported at thresholds chosen on
// the other four, pooled: how well a rule's thresholds carry to boards they were not chosen on.
const groupNames = [...new Set(boards.map((b) => b.group))];
const shrinks = values.shrinks!.split(',').map(Number);
const nested = shrinks.map((shrink) => {
  const reported: Board[] = [];
  const chosen: Record<string, Record<string, number>> = {};
  for (const held of groupNames) {
    const th = shrunk(boxed.filter((b) => b.group !== held), shrink);
    chosen[held] = th;
    for (const b of boxed.filter((x) => x.group === held)) reported.push({ ...b, found: b.found.filter((f) => f.score >= th[f.label]!) });
  }
  // The held-out boards' detections are already cut at their own fold's thresholds: score at 0.
  const s = score(reported, uniform(0));
  return { shrink, fScore: +s.fScore.toFixed(2), recall: +s.recall.toFixed(2), precision: +s.precision.toFixed(2), thresholdsByHeldGroup: chosen };
});
const pick = [...nested].sort((a, b) => b.fScore - a.fScore || a.shrink - b.shrink)[0]!;
const final = shrunk(boxed, pick.shrink);
const s = score(boxed, final);
console.log(
  JSON.stringify(
    {
      boards: boards.length,
      best: rows.slice(0, 10),
      bestPerClass: perClass(boxed, top.thresholds),
      nested: nested.map(({ thresholdsByHeldGroup, ...r }) => r),
      nestedThresholds: nested.map((r) => ({ shrink: r.shrink, byHeldGroup: r.thresholdsByHeldGroup })),
      shrunk: { shrink: pick.shrink, padPx: top.padPx, minSidePx: top.minSidePx, thresholds: final, mAP: +s.mAP.toFixed(2), fScore: +s.fScore.toFixed(2), recall: +s.recall.toFixed(2), precision: +s.precision.toFixed(2), perClass: perClass(boxed, final) },
    },
    null,
    1,
  ),
);
