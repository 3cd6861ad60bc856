import type { Candidate, Decoded } from '../decode/decoder.js';
import type { ModelSpec, Precision } from '../model/spec.js';
import type { Decision, Defect } from './types.js';

export type Rect = [number, number, number, number];

/**
 * What turns a decoded result into PASS/FAIL for one camera: model.json's thresholds, overridden
 * by the camera's config. Rects are [x, y, w, h] in frame pixels.
 */
export interface VerdictRules {
  /** Defect score at or above which a defect counts (or the part fails, for part-judged models). */
  threshold: number;
  /** Per-label thresholds that replace `threshold` for that label. */
  perClass: Record<string, number>;
  /** Located defects smaller than this (frame pixels) are ignored: dust, specks. 0 keeps all. */
  minDefectAreaPx: number;
  /** Only defects whose box intersects this region count. */
  roi?: Rect;
  /** Defects whose box centre lies inside one of these are ignored (fixtures, labels, known marks). */
  ignore: Rect[];
  /** model.json's per-precision thresholds, replacing `threshold` for the file that runs; absent when a threshold was given. */
  perPrecision?: Partial<Record<Precision, number>>;
}

/** model.json's own rules, before any camera overrides. */
export function rulesFromSpec(spec: ModelSpec, overrides: Partial<VerdictRules> = {}): VerdictRules {
  return {
    threshold: overrides.threshold ?? spec.thresholds.default,
    perClass: { ...spec.thresholds.perClass, ...overrides.perClass },
    minDefectAreaPx: overrides.minDefectAreaPx ?? 0,
    ...(overrides.roi ? { roi: overrides.roi } : {}),
    ignore: overrides.ignore ?? [],
    ...(overrides.threshold === undefined && spec.thresholds.perPrecision ? { perPrecision: { ...spec.thresholds.perPrecision } } : {}),
  };
}

/** The part threshold for the precision that runs (a backend's name for it: fp32, int8, or e.g. fp16, which has none of its own). */
export function thresholdFor(rules: VerdictRules, precision: string): number {
  return rules.perPrecision?.[precision as Precision] ?? rules.threshold;
}

/** The rules as they apply to one precision's file (the same object when nothing differs). */
export function rulesAt(rules: VerdictRules, precision: string): VerdictRules {
  const t = rules.perPrecision?.[precision as Precision];
  return t === undefined || t === rules.threshold ? rules : { ...rules, threshold: t };
}

/** perClass keys the model has no label for: a config typo that would otherwise silently do nothing. */
export function unknownPerClassLabels(rules: VerdictRules, labels: readonly string[]): string[] {
  return Object.keys(rules.perClass).filter((l) => !labels.includes(l));
}

export function classThreshold(rules: VerdictRules, label: string): number {
  return rules.perClass[label] ?? rules.threshold;
}

/**
 * Where a candidate is, judged against min area, ROI and ignore masks. A rule needs the geometry
 * it speaks about: a candidate without a box or area passes the rules it cannot be judged by.
 */
export function passesGeometry(c: Candidate, rules: VerdictRules): boolean {
  const area = c.areaPx ?? (c.box ? c.box[2] * c.box[3] : undefined);
  if (area !== undefined && area < rules.minDefectAreaPx) return false;
  if (!c.box) return true;
  if (rules.roi && !intersects(c.box, rules.roi)) return false;
  const cx = c.box[0] + c.box[2] / 2;
  const cy = c.box[1] + c.box[3] / 2;
  for (const r of rules.ignore) if (contains(r, cx, cy)) return false;
  return true;
}

/**
 * PASS or FAIL for one part. Pure: same input, same decision.
 * - Candidate-judged results (detectors): a candidate is a defect when its score reaches its class
 *   threshold and it passes min area, ROI and ignore; FAIL when any is.
 * - Part-judged results (classifiers, anomaly maps): the part score against the threshold decides,
 *   as the model was calibrated. Located candidates can veto: when every one of them falls outside
 *   the ROI, inside an ignore mask or under the minimum area, the part passes. When the model
 *   located nothing, the part score alone decides (fail-safe). For classifiers, a per-class
 *   threshold on a label's probability can fail a part on its own.
 * `labels` (the model's) names a part-level defect when the decoder gave none.
 */
export function decide(decoded: Decoded, rules: VerdictRules, labels: readonly string[] = []): Decision {
  const judge = decoded.judge ?? (decoded.candidates.some((c) => c.box) ? 'candidates' : 'part');
  if (judge === 'candidates') {
    const defects = decoded.candidates
      .filter((c) => c.score >= classThreshold(rules, c.label) && passesGeometry(c, rules))
      .map(toDefect);
    return defects.length > 0 ? withMap({ verdict: 'FAIL', score: decoded.score, defects }, decoded) : { verdict: 'PASS', score: decoded.score, defects };
  }

  const located = decoded.candidates.filter((c) => c.box !== undefined || c.areaPx !== undefined);
  const eligible = decoded.candidates.filter((c) => passesGeometry(c, rules));
  // Region scores (map cells) are not on the part score's scale, so only unlocated class
  // probabilities are held to their own per-class thresholds.
  const byOwnClass = located.length > 0 ? [] : eligible.filter((c) => c.label in rules.perClass && c.score >= rules.perClass[c.label]!);
  const partLabel = decoded.partLabel ?? labels.find((l) => l !== 'good') ?? 'defect';
  const partFails =
    decoded.score >= classThreshold(rules, partLabel) && (located.length === 0 || eligible.some((c) => located.includes(c)));

  if (!partFails && byOwnClass.length === 0) return { verdict: 'PASS', score: decoded.score, defects: [] };

  let defects: Defect[];
  if (located.length > 0) {
    defects = eligible.map(toDefect);
  } else {
    const reached = eligible.filter((c) => c.score >= classThreshold(rules, c.label));
    const top = eligible[0];
    // A map model that located nothing still says where it looked hardest (decoded.peak).
    const partDefect: Candidate = decoded.peak?.box ? { label: partLabel, score: decoded.score, box: decoded.peak.box } : { label: partLabel, score: decoded.score };
    defects = (reached.length > 0 ? reached : top ? [top] : [partDefect]).map(toDefect);
  }
  return withMap({ verdict: 'FAIL', score: decoded.score, defects }, decoded);
}

/** A FAIL keeps the map its model drew (the page and the archive show it); a PASS has nothing to show. */
function withMap(d: Decision, decoded: Decoded): Decision {
  if (decoded.map) d.map = decoded.map();
  return d;
}

function toDefect(c: Candidate): Defect {
  return c.box ? { label: c.label, score: c.score, box: c.box } : { label: c.label, score: c.score };
}

function intersects(a: Rect, b: Rect): boolean {
  return a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
}

function contains(r: Rect, x: number, y: number): boolean {
  return x >= r[0] && x < r[0] + r[2] && y >= r[1] && y < r[1] + r[3];
}
