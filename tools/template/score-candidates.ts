/**
 * Scores golden-template candidates (tools/template/candidates.ts) the paper's way under rules the
 * classifier does not apply itself, and chooses among them by board group: each group's boards
 * reported under the rule chosen on the other groups, pooled (`nested`), then the rule chosen on
 * all groups given (`chosen`). Rules: whether thin-pass candidates are used and the score they need
 * (`thinMin`), and a polarity rule for copper (a copper report needs the blob's own polarity:
 * `copperPolarity` dark / bright / any). The daemon's decoder (with the topology cell) and the
 * model's box rule and thresholds are used as shipped.
 *
 *   node .train/js/tools/template/score-candidates.js --cands .train/cand/train.json [--model M] [--choose]
 *     [--thin-min none,0.5,...] [--thin-polarity any,bright] [--thin-max-area none,40] [--polarity any,dark] [--rule '{"thinMin":0.6,"copperPolarity":"any"}']
 *     [--bars [--bar-classes copper] [--bar-features area,contrast]] [--boxes]
 * Without --choose (or with --rule) it prints the score of one rule, with the false reports per
 * class split by pass and polarity and the missed truth boxes per class.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PatchClassifierDecoder, suppressOverlaps } from '../../src/decode/patch-classifier.js';
import { DEEPPCB_CLASSES } from '../../src/eval/deeppcb-layout.js';
import { iou, PAPER_IOU, scoreDetections, type ScoredBox, type TruthBox } from '../../src/eval/detection-score.js';
import { loadModelSpec } from '../../src/model/spec.js';
import { candidateBox } from '../../src/inspect/template/stage.js';

interface Region {
  box: [number, number, number, number];
  areaPx: number;
  topology?: number;
  pass: 'main' | 'thin';
  extra: boolean;
  contrast?: number;
  edgeShare?: number;
}
interface Board {
  id: string;
  group: string;
  registered: boolean;
  truth: TruthBox[];
  regions: Region[];
  probs: number[][];
}
/** What a rule after the classifier may read of a candidate's blob (none of it is a number the network is given). */
const FEATURES = ['area', 'contrast', 'edgeShare', 'fill', 'elongation', 'side'] as const;
type Feature = (typeof FEATURES)[number];
type Found = ScoredBox & { pass: Region['pass']; extra: boolean; areaPx: number; features: Record<Feature, number>; raw: Region['box']; top: boolean };
/** A class's report needs `feature` at least (min) or at most (max) `value`. */
interface Bar {
  feature: Feature;
  op: 'min' | 'max';
  value: number;
}
function featuresOf(r: Region): Record<Feature, number> {
  const [, , w, h] = r.box;
  return { area: r.areaPx, contrast: r.contrast ?? 0, edgeShare: r.edgeShare ?? 0, fill: r.areaPx / (w * h), elongation: Math.max(w, h) / Math.max(1, Math.min(w, h)), side: Math.max(w, h) };
}
interface Rule {
  thinMin: number | null;
  /** Thin-pass blobs only of this polarity (bright: copper missing, as in a mousebite or an open). */
  thinPolarity: 'any' | 'bright';
  /** Thin-pass blobs only below this area, px (null: any). */
  thinMaxArea: number | null;
  copperPolarity: 'any' | 'dark' | 'bright';
  /** Per class, a bar on one blob feature its candidates need (--bars chooses them). */
  bars?: Record<string, Bar>;
  /** A candidate overlapping a better-scored one of its class at IoU above this is dropped (--nms chooses it). */
  nmsIou?: number | null;
  /** Only a region's most likely class is reported (its other classes stay candidates, for the AP curve). */
  topOnly?: boolean;
}
/** Whether a kept candidate is reported: at its class's threshold, and its region's top class under topOnly. */
const reports = (f: Found, rule: Rule) => f.score >= threshold(f.label) && (!rule.topOnly || f.top);

/** The decoder's rule (decoder.nmsIou): candidates overlapping a better one of their class at IoU > `over` are dropped. */
const suppressed = (found: Found[], over: number | null | undefined): Found[] => (over === null || over === undefined ? found : suppressOverlaps(found, over));

const { values } = parseArgs({ options: { cands: { type: 'string' }, model: { type: 'string', default: 'models/deeppcb-template/model.json' }, choose: { type: 'boolean', default: false }, 'thin-min': { type: 'string', default: 'none,0.5,0.6,0.7,0.8,0.85,0.9,0.95' }, 'thin-polarity': { type: 'string', default: 'any,bright' }, 'thin-max-area': { type: 'string', default: 'none,40' }, polarity: { type: 'string', default: 'any,dark' }, rule: { type: 'string' }, bars: { type: 'boolean', default: false }, nms: { type: 'string' }, 'top-only': { type: 'string', default: 'false' }, boxes: { type: 'boolean', default: false }, 'bar-classes': { type: 'string' }, 'bar-features': { type: 'string' } } });
const spec = loadModelSpec(values.model!).spec;
const decoder = new PatchClassifierDecoder(spec);
const columns = spec.labels.length + 1;
const transform = { frameWidth: 640, frameHeight: 640, scaleX: 1, scaleY: 1, padLeft: 0, padTop: 0 };
const threshold = (label: string) => spec.thresholds.perClass[label] ?? spec.thresholds.default;
const raw: Board[] = JSON.parse(readFileSync(values.cands!, 'utf8')).boards;
// Each region decoded alone, so every candidate keeps its region's features.
const boards = raw.map((b) => ({
  id: b.id,
  group: b.group,
  truth: b.truth,
  found: b.regions.flatMap((r, i): Found[] => {
    const d = decoder.decode({ probs: { type: 'float32', dims: [1, columns], data: Float32Array.from(b.probs[i]!) } }, transform, [{ box: r.box, areaPx: r.areaPx, topology: r.topology }]);
    return d.candidates.map((c, k) => ({ top: k === 0, label: c.label, score: c.score, box: candidateBox(r.box, spec.template!.box), pass: r.pass, extra: r.extra, areaPx: r.areaPx, features: featuresOf(r), raw: r.box }));
  }),
}));

function kept(f: Found, rule: Rule): boolean {
  if (f.pass === 'thin' && (rule.thinMin === null || f.score < rule.thinMin)) return false;
  if (f.pass === 'thin' && rule.thinPolarity === 'bright' && !f.extra) return false;
  if (f.pass === 'thin' && rule.thinMaxArea !== null && f.areaPx >= rule.thinMaxArea) return false;
  if (f.label === 'copper' && rule.copperPolarity !== 'any' && f.extra !== (rule.copperPolarity === 'bright')) return false;
  const bar = rule.bars?.[f.label];
  if (bar && (bar.op === 'min' ? f.features[bar.feature] < bar.value : f.features[bar.feature] > bar.value)) return false;
  return true;
}
function score(images: typeof boards, rule: Rule) {
  return scoreDetections(
    images.map((b) => {
      const found = suppressed(b.found.filter((f) => kept(f, rule)), rule.nmsIou);
      return { truth: b.truth, candidates: found, reported: found.filter((f) => reports(f, rule)) };
    }),
    DEEPPCB_CLASSES,
  );
}
const round = (x: number | null) => (x === null ? null : +x.toFixed(2));
const summary = (s: ReturnType<typeof score>) => ({ mAP: round(s.mAP), fScore: round(s.fScore), precision: round(s.precision), recall: round(s.recall) });

/** The rule's reports that match no truth box of their class (greedy by score, as scored), and the truth boxes nothing matched. */
function errors(images: typeof boards, rule: Rule) {
  const falseBy: Record<string, number> = {};
  const missedBy: Record<string, number> = {};
  for (const b of images) {
    const reported = suppressed(b.found.filter((f) => kept(f, rule)), rule.nmsIou).filter((f) => reports(f, rule)).sort((p, q) => q.score - p.score);
    const used = b.truth.map(() => false);
    for (const f of reported) {
      const k = b.truth.findIndex((t, i) => !used[i] && t.label === f.label && iou(t.box, f.box) > PAPER_IOU);
      if (k >= 0) used[k] = true;
      else {
        const key = `${f.label} / ${f.pass} / ${f.extra ? 'bright' : 'dark'}`;
        falseBy[key] = (falseBy[key] ?? 0) + 1;
      }
    }
    b.truth.forEach((t, i) => {
      if (!used[i]) missedBy[t.label] = (missedBy[t.label] ?? 0) + 1;
    });
  }
  return { falseReports: falseBy, missed: missedBy };
}

/**
 * Why each error is one. A false report: `wrong class` (a truth box of another class at IoU > 0.33),
 * `box size` (one of its class overlaps, at IoU ≤ 0.33), `duplicate` (its truth box already taken),
 * `nuisance` (no truth box overlaps). A miss: `no candidate` (nothing kept overlaps it at IoU > 0.33),
 * `wrong class` (a report of another class does), `below threshold` (only candidates under the
 * class's threshold do). With the features of each false report, for rules after the classifier.
 */
function causes(images: typeof boards, rule: Rule) {
  const out: Record<string, number> = {};
  const falseReports: Array<{ board: string; label: string; pass: string; top: boolean; cause: string; score: number } & Record<Feature, number>> = [];
  const count = (k: string) => (out[k] = (out[k] ?? 0) + 1);
  for (const b of images) {
    const found = suppressed(b.found.filter((f) => kept(f, rule)), rule.nmsIou);
    const reported = found.filter((f) => reports(f, rule)).sort((p, q) => q.score - p.score);
    const used = b.truth.map(() => false);
    for (const f of reported) {
      const k = b.truth.findIndex((t, i) => !used[i] && t.label === f.label && iou(t.box, f.box) > PAPER_IOU);
      if (k >= 0) {
        used[k] = true;
        continue;
      }
      const cause = b.truth.some((t) => t.label === f.label && iou(t.box, f.box) > PAPER_IOU)
        ? 'duplicate'
        : b.truth.some((t) => t.label !== f.label && iou(t.box, f.box) > PAPER_IOU)
          ? 'wrong class'
          : b.truth.some((t) => t.label === f.label && iou(t.box, f.box) > 0)
            ? 'box size'
            : 'nuisance';
      const other = cause === 'wrong class' ? b.truth.find((t) => t.label !== f.label && iou(t.box, f.box) > PAPER_IOU)!.label : undefined;
      count(`false ${f.label} / ${cause}${other ? ` (truth ${other})` : ''}`);
      falseReports.push({ board: b.id, label: f.label, pass: f.pass, top: f.top, cause, score: round(f.score)!, ...f.features });
    }
    b.truth.forEach((t, i) => {
      if (used[i]) return;
      const near = found.filter((f) => iou(t.box, f.box) > PAPER_IOU);
      const cause = near.length === 0 ? 'no candidate' : near.some((f) => f.label !== t.label && f.score >= threshold(f.label)) ? 'wrong class' : 'below threshold';
      count(`missed ${t.label} / ${cause}`);
    });
  }
  return { counts: out, falseReports };
}

const perClass = (s: ReturnType<typeof score>) => Object.fromEntries(Object.entries(s.perClass).map(([c, v]) => [c, { ap: round(v.ap), recall: round(v.recall), precision: round(v.precision) }]));
if (values.bars) {
  chooseBars();
} else if (values.boxes) {
  chooseBoxes();
} else if (!values.choose) {
  const rule: Rule = { thinMin: null, thinPolarity: 'any', thinMaxArea: null, copperPolarity: 'any', ...(values.rule ? JSON.parse(values.rule) : {}) };
  const s = score(boards, rule);
  console.log(JSON.stringify({ boards: boards.length, rule, ...summary(s), perClass: perClass(s), ...errors(boards, rule), causes: causes(boards, rule) }, null, 1));
} else {
  const list = (k: 'thin-min' | 'thin-max-area') => values[k]!.split(',').map((x) => (x === 'none' ? null : Number(x)));
  const base: Partial<Rule> = values.rule ? JSON.parse(values.rule) : {};
  const nmsList = values.nms ? values.nms.split(',').map((x) => (x === 'none' ? null : Number(x))) : [null];
  const rules: Rule[] = values['top-only']!.split(',').flatMap((top) => nmsList.flatMap((nmsIou) => list('thin-min').flatMap((thinMin) =>
    values['thin-polarity']!.split(',').flatMap((tp) =>
      list('thin-max-area').flatMap((thinMaxArea) => values.polarity!.split(',').map((p) => ({ ...base, thinMin, thinPolarity: tp as Rule['thinPolarity'], thinMaxArea, copperPolarity: p as Rule['copperPolarity'], nmsIou, topOnly: top === 'true' }))),
    ),
  )));
  const best = (images: typeof boards) => rules.map((r) => ({ r, f: score(images, r).fScore })).sort((a, b) => b.f - a.f)[0]!.r;
  const groups = [...new Set(boards.map((b) => b.group))];
  // Nested: each group reported under the rule chosen on the others (ties: the first, simpler rule).
  const byHeld: Record<string, Rule> = {};
  const reported = groups.flatMap((g) => {
    const r = (byHeld[g] = best(boards.filter((b) => b.group !== g)));
    return boards.filter((b) => b.group === g).map((b) => {
      const found = suppressed(b.found.filter((f) => kept(f, r)), r.nmsIou);
      return { truth: b.truth, candidates: found, reported: found.filter((f) => reports(f, r)) };
    });
  });
  const nested = scoreDetections(reported, DEEPPCB_CLASSES);
  const chosen = best(boards);
  const grid = rules.map((r) => ({ rule: r, ...summary(score(boards, r)) }));
  console.log(JSON.stringify({ boards: boards.length, grid, byHeld, nested: summary(nested), chosen, atChosen: { ...summary(score(boards, chosen)), perClass: perClass(score(boards, chosen)), ...errors(boards, chosen) } }, null, 1));
}

/** Per class, the option (or none) that raises `merit` most, one class at a time, two passes. */
function ascendPerClass<T>(labels: readonly string[], options: (label: string) => T[], merit: (chosen: Record<string, T>) => number): Record<string, T> {
  const chosen: Record<string, T> = {};
  let best = merit(chosen);
  for (let pass = 0; pass < 2; pass++) {
    for (const label of labels) {
      for (const option of options(label)) {
        const m = merit({ ...chosen, [label]: option });
        if (m > best + 1e-9) {
          best = m;
          chosen[label] = option;
        }
      }
    }
  }
  return chosen;
}

/**
 * --bars: per class, a bar on one blob feature (or none), chosen on the pooled F of the boards given,
 * one class at a time (two passes); candidate bars are the class's reported candidates' feature
 * quantiles (min bars from the low tail, max bars from the high tail). Nested by board group: each
 * group reported under the bars chosen on the other groups; then the bars chosen on all groups.
 */
function chooseBars(): void {
  const base: Rule = { thinMin: null, thinPolarity: 'any', thinMaxArea: null, copperPolarity: 'any', ...(values.rule ? JSON.parse(values.rule) : {}) };
  const quantile = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
  const options = (images: typeof boards, label: string): Bar[] => {
    const found = images.flatMap((b) => b.found.filter((f) => f.label === label && kept(f, base) && f.score >= threshold(label)));
    const features = values['bar-features'] ? (values['bar-features'].split(',') as Feature[]) : FEATURES;
    return features.flatMap((feature) => {
      const xs = found.map((f) => f.features[feature]).sort((a, b) => a - b);
      if (xs.length === 0) return [];
      const mins = [0.005, 0.01, 0.02, 0.03, 0.05, 0.08].map((q): Bar => ({ feature, op: 'min', value: quantile(xs, q) }));
      const maxs = [0.92, 0.95, 0.97, 0.98, 0.99, 0.995].map((q): Bar => ({ feature, op: 'max', value: quantile(xs, q) }));
      return [...mins, ...maxs];
    });
  };
  const choose = (images: typeof boards) =>
    ascendPerClass(values['bar-classes']?.split(',') ?? DEEPPCB_CLASSES, (label) => options(images, label), (bars) => score(images, { ...base, bars }).fScore);
  const groups = [...new Set(boards.map((b) => b.group))];
  const byHeld: Record<string, Record<string, Bar>> = {};
  const reported = groups.flatMap((g) => {
    const bars = (byHeld[g] = choose(boards.filter((b) => b.group !== g)));
    return boards.filter((b) => b.group === g).map((b) => ({ ...b, found: b.found.filter((f) => kept(f, { ...base, bars })) }));
  });
  const nested = score(reported, { thinMin: 0, thinPolarity: 'any', thinMaxArea: null, copperPolarity: 'any' });
  const heldOff = score(boards, base);
  const chosen = choose(boards);
  const at = score(boards, { ...base, bars: chosen });
  console.log(JSON.stringify({ boards: boards.length, base, without: { ...summary(heldOff), ...errors(boards, base) }, byHeld, nested: summary(nested), nestedErrors: errors(reported, { ...base, thinMin: 0 }), chosen, atChosen: { ...summary(at), perClass: perClass(at), ...errors(boards, { ...base, bars: chosen }) } }, null, 1));
}

type BoxRule = { padPx: number; minSidePx: number };
/**
 * --boxes: the box rule per class (pad and minimum side, the model's own for classes not moved),
 * chosen on the pooled F (then mAP) of the boards given, one class at a time (two passes). A box
 * the wrong size against truth (IoU ≤ 0.33 at the right place) is a false report and a miss at once.
 * Nested by board group as --bars.
 */
function chooseBoxes(): void {
  const base: Rule = { thinMin: null, thinPolarity: 'any', thinMaxArea: null, copperPolarity: 'any', ...(values.rule ? JSON.parse(values.rule) : {}) };
  const shipped: BoxRule = spec.template!.box;
  const grid: BoxRule[] = [0, 2, 4, 6, 8].flatMap((padPx) => [16, 20, 24, 28, 32, 40].map((minSidePx) => ({ padPx, minSidePx })));
  const reboxed = (images: typeof boards, rules: Record<string, BoxRule>) =>
    images.map((b) => ({ ...b, found: b.found.map((f) => ({ ...f, box: candidateBox(f.raw, rules[f.label] ?? shipped) })) }));
  const merit = (images: typeof boards, rules: Record<string, BoxRule>) => {
    const s = score(reboxed(images, rules), base);
    return s.fScore + 1e-3 * s.mAP;
  };
  const choose = (images: typeof boards) => ascendPerClass(DEEPPCB_CLASSES, () => grid, (rules) => merit(images, rules));
  const groups = [...new Set(boards.map((b) => b.group))];
  const byHeld: Record<string, Record<string, BoxRule>> = {};
  const reported = groups.flatMap((g) => reboxed(boards.filter((b) => b.group === g), (byHeld[g] = choose(boards.filter((b) => b.group !== g)))));
  const nested = score(reported, base);
  const chosen = choose(boards);
  const at = score(reboxed(boards, chosen), base);
  console.log(JSON.stringify({ boards: boards.length, base, shipped, without: summary(score(boards, base)), byHeld, nested: summary(nested), nestedErrors: errors(reported, base), chosen, atChosen: { ...summary(at), perClass: perClass(at), ...errors(reboxed(boards, chosen), base) } }, null, 1));
}
