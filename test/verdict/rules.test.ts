import { describe, expect, it } from 'vitest';
import type { Candidate, Decoded } from '../../src/decode/decoder.js';
import { decide, rulesFromSpec, unknownPerClassLabels, type VerdictRules } from '../../src/verdict/rules.js';
import { specWith } from '../decode/spec-helpers.js';

const base: VerdictRules = { threshold: 0.5, perClass: {}, minDefectAreaPx: 0, ignore: [] };
const box = (x: number, y: number, w: number, h: number, label = 'scratch', score = 0.8): Candidate => ({
  label,
  score,
  box: [x, y, w, h],
  areaPx: w * h,
});
const detections = (...candidates: Candidate[]): Decoded => ({
  score: Math.max(0, ...candidates.map((c) => c.score)),
  candidates,
  judge: 'candidates',
});

describe('verdict rules on detector candidates', () => {
  it('score threshold: a candidate counts at or above the threshold, not below', () => {
    expect(decide(detections(box(0, 0, 10, 10, 'scratch', 0.5)), base).verdict).toBe('FAIL');
    expect(decide(detections(box(0, 0, 10, 10, 'scratch', 0.49)), base).verdict).toBe('PASS');
  });

  it('per-class threshold replaces the default for its label only', () => {
    const rules = { ...base, perClass: { scratch: 0.9, dent: 0.2 } };
    const d = decide(detections(box(0, 0, 10, 10, 'scratch', 0.8), box(50, 50, 10, 10, 'dent', 0.3), box(90, 90, 5, 5, 'spot', 0.45)), rules);
    expect(d.verdict).toBe('FAIL');
    expect(d.defects.map((x) => x.label)).toEqual(['dent']);
  });

  it('minimum area drops small defects and keeps those at the minimum', () => {
    const rules = { ...base, minDefectAreaPx: 100 };
    expect(decide(detections(box(0, 0, 9, 10)), rules).verdict).toBe('PASS');
    expect(decide(detections(box(0, 0, 10, 10)), rules).verdict).toBe('FAIL');
  });

  it('ROI: only boxes intersecting it count', () => {
    const rules: VerdictRules = { ...base, roi: [100, 100, 200, 200] };
    expect(decide(detections(box(0, 0, 50, 50)), rules).verdict).toBe('PASS');
    expect(decide(detections(box(0, 0, 50, 50), box(290, 290, 50, 50)), rules).defects).toHaveLength(1);
    expect(decide(detections(box(300, 300, 10, 10)), rules).verdict).toBe('PASS'); // touching the edge is not inside
  });

  it('ignore rects drop boxes whose centre lies inside, even if the box overlaps elsewhere', () => {
    const rules: VerdictRules = { ...base, ignore: [[0, 0, 100, 100]] };
    expect(decide(detections(box(40, 40, 100, 100)), rules).verdict).toBe('PASS'); // centre (90,90) inside, box spills out
  });
  it('ignore rects keep boxes whose centre lies outside', () => {
    const rules: VerdictRules = { ...base, ignore: [[0, 0, 100, 100]] };
    expect(decide(detections(box(20, 20, 20, 20)), rules).verdict).toBe('PASS'); // centre (30,30) inside
    expect(decide(detections(box(90, 90, 40, 40)), rules).verdict).toBe('FAIL'); // centre (110,110) outside
  });

  it('no candidates passes; Decision carries the decoded score and the counted defects with boxes', () => {
    expect(decide(detections(), base)).toEqual({ verdict: 'PASS', score: 0, defects: [] });
    expect(decide(detections(box(1, 2, 3, 4, 'dent', 0.7)), base)).toEqual({
      verdict: 'FAIL',
      score: 0.7,
      defects: [{ label: 'dent', score: 0.7, box: [1, 2, 3, 4] }],
    });
  });
});

describe('verdict rules on part-judged results', () => {
  const classified = (score: number, ...c: Array<[string, number]>): Decoded => ({
    score,
    candidates: c.map(([label, s]) => ({ label, score: s })),
    judge: 'part',
  });

  it('classification: the part score against the threshold decides', () => {
    expect(decide(classified(0.6, ['scratch', 0.35], ['dent', 0.25]), base)).toEqual({
      verdict: 'FAIL',
      score: 0.6,
      defects: [{ label: 'scratch', score: 0.35 }],
    });
    expect(decide(classified(0.4, ['scratch', 0.3], ['dent', 0.1]), base).verdict).toBe('PASS');
  });

  it('classification: a per-class threshold can fail a part below the part threshold', () => {
    const rules = { ...base, perClass: { dent: 0.2 } };
    const d = decide(classified(0.4, ['scratch', 0.15], ['dent', 0.25]), rules);
    expect(d.verdict).toBe('FAIL');
    expect(d.defects).toEqual([{ label: 'dent', score: 0.25 }]);
  });

  const anomaly = (score: number, ...regions: Candidate[]): Decoded => ({ score, candidates: regions, judge: 'part', partLabel: 'defect' });

  it('anomaly map: a high part score fails with its regions as defects', () => {
    const d = decide(anomaly(0.8, box(10, 10, 20, 20, 'defect', 0.9)), base);
    expect(d).toEqual({ verdict: 'FAIL', score: 0.8, defects: [{ label: 'defect', score: 0.9, box: [10, 10, 20, 20] }] });
  });

  it('anomaly map: a low part score passes even with regions (the image score is what is calibrated)', () => {
    expect(decide(anomaly(0.3, box(10, 10, 20, 20, 'defect', 0.6)), base).verdict).toBe('PASS');
  });

  it('anomaly map: regions all inside ignore masks or under min area veto the fail', () => {
    expect(decide(anomaly(0.8, box(10, 10, 20, 20, 'defect', 0.9)), { ...base, ignore: [[0, 0, 50, 50]] }).verdict).toBe('PASS');
    expect(decide(anomaly(0.8, box(10, 10, 5, 5, 'defect', 0.9)), { ...base, minDefectAreaPx: 26 }).verdict).toBe('PASS');
    expect(decide(anomaly(0.8, box(10, 10, 5, 5, 'defect', 0.9)), { ...base, roi: [100, 100, 10, 10] }).verdict).toBe('PASS');
  });

  it('anomaly map: a high part score with no region at all fails (fail-safe) with a box-less defect', () => {
    expect(decide(anomaly(0.8), base)).toEqual({ verdict: 'FAIL', score: 0.8, defects: [{ label: 'defect', score: 0.8 }] });
  });

  it('anomaly map: perClass of the defect label sets the part threshold', () => {
    expect(decide(anomaly(0.4), { ...base, perClass: { defect: 0.35 } }).verdict).toBe('FAIL');
    expect(decide(anomaly(0.4), { ...base, perClass: { defect: 0.45 } }).verdict).toBe('PASS');
  });
});

describe('rules from model.json', () => {
  const spec = specWith({ type: 'yolo', output: 'o', layout: 'v8' }, ['scratch', 'dent'], {
    thresholds: { default: 0.4, perClass: { dent: 0.7 } },
  });
  it('takes thresholds from the spec and lets overrides replace them', () => {
    expect(rulesFromSpec(spec)).toEqual({ threshold: 0.4, perClass: { dent: 0.7 }, minDefectAreaPx: 0, ignore: [] });
    expect(rulesFromSpec(spec, { threshold: 0.6, perClass: { scratch: 0.3 } }).perClass).toEqual({ dent: 0.7, scratch: 0.3 });
  });
  it('names per-class thresholds for labels the model does not have', () => {
    expect(unknownPerClassLabels({ ...base, perClass: { dent: 0.1, scrach: 0.2 } }, spec.labels)).toEqual(['scrach']);
  });
});
