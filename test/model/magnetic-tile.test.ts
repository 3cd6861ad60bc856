import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModelSpec } from '../../src/model/spec.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { auroc as aurocOf } from '../../src/cli/commands/eval.js';
import { bothPrecisions, inUnitRange, rawOutputs } from './helpers.js';

/** The eval command's AUROC (the one a plant sees), over 1/0 labels. */
const auroc = (scores: number[], labels: number[]): number => aurocOf(scores, labels.map((l) => l === 1))!;

/**
 * models/magnetic-tile through the daemon's own preprocessing and ONNX Runtime backend, on
 * ../shared's magnetic-tile photos (not redistributable, so none is committed): on val (where the
 * threshold was chosen) and on the held-out test set (every 4th train tile of each class, names
 * sorted: tools/model/holdout_split.py; no training, calibration or choice saw it), both outputs
 * stay in [0,1] and, at the shipped threshold, issue 13's targets hold for both precisions:
 * AUROC >= 0.995, escapes <= 2%, false rejects <= 5%, INT8/FP32 verdict agreement >= 99.5% (1.2.0:
 * 100% on both, 0 flips; with 198 test tiles one flip is already 99.49%). The INT8 file is 1.2.0's
 * mixed-precision one: six convolutions kept float (tools/model/keep-float.ts), the ones whose INT8
 * error moved val's scores most (tools/model/int8-sensitivity.ts).
 */
const root = resolve(import.meta.dirname, '../..');
const specPath = resolve(root, 'models/magnetic-tile/model.json');
const data = resolve(root, '../shared/data/magnetic-tile');

type Row = string[];
const manifest = (): Row[] =>
  readFileSync(resolve(data, 'manifest.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));

/** holdout_split.py's rule: within each class of train, file names sorted, positions 3, 7, 11, ... */
function heldOut(rows: Row[]): Row[] {
  const byClass = new Map<string, Row[]>();
  for (const r of rows.filter((f) => f[1] === 'train')) byClass.set(r[2]!, [...(byClass.get(r[2]!) ?? []), r]);
  return [...byClass.values()].flatMap((rs) => rs.sort((a, b) => (a[0]! < b[0]! ? -1 : 1)).filter((_, k) => k % 4 === 3));
}

describe('models/magnetic-tile on ../shared magnetic-tile val and the held-out test set', () => {
  const models = bothPrecisions(specPath);
  const t = loadModelSpec(specPath).spec.thresholds.default;

  async function measure(rows: Row[]) {
    const cv = opencv();
    const labels: number[] = [];
    const s32: number[] = [];
    const s8: number[] = [];
    for (const f of rows) {
      // the same decode as readImage (IMREAD_COLOR), synchronously
      const image = cv.imread(resolve(data, f[0]!), cv.IMREAD_COLOR);
      const a = await rawOutputs(models.fp32!, image);
      const b = await rawOutputs(models.int8!, image);
      for (const o of [a, b]) {
        expect(inUnitRange([o.score])).toBe(true);
        expect(inUnitRange(o.map)).toBe(true);
        expect(o.mapDims).toEqual([1, 1, 28, 28]);
      }
      labels.push(f[3] === 'defect' ? 1 : 0);
      s32.push(a.score);
      s8.push(b.score);
    }
    const n = labels.length;
    const defects = labels.filter((l) => l === 1).length;
    const at = (s: number[]) => ({
      auroc: auroc(s, labels),
      escapes: labels.filter((l, i) => l === 1 && s[i]! < t).length / defects,
      falseRejects: labels.filter((l, i) => l === 0 && s[i]! >= t).length / (n - defects),
    });
    return { n, agree: labels.filter((_, i) => s32[i]! >= t === s8[i]! >= t).length / n, fp32: at(s32), int8: at(s8) };
  }

  function targetsHold(r: Awaited<ReturnType<typeof measure>>) {
    for (const p of [r.fp32, r.int8]) {
      expect(p.auroc).toBeGreaterThanOrEqual(0.995);
      expect(p.escapes).toBeLessThanOrEqual(0.02);
      expect(p.falseRejects).toBeLessThanOrEqual(0.05);
    }
  }

  // 536 / 396 runs of a three-network ensemble (1.1.0, 1.2.0): ~11 s / ~8 s on a quiet machine, several times that on a loaded CI box
  it('on val: outputs in [0,1], INT8 agrees with FP32 on >= 99.5% of verdicts, the targets hold', async () => {
    const rows = manifest().filter((f) => f[1] === 'val');
    expect(rows.length).toBe(268);
    const r = await measure(rows);
    expect(r.agree).toBeGreaterThanOrEqual(0.995);
    targetsHold(r);
  }, 180_000);

  it('on the held-out test set: outputs in [0,1], INT8 agrees with FP32 on >= 99.5% of verdicts, the targets hold', async () => {
    const rows = heldOut(manifest());
    expect(rows.length).toBe(198);
    expect(rows.filter((f) => f[3] === 'defect').length).toBe(56);
    const r = await measure(rows);
    expect(r.agree).toBeGreaterThanOrEqual(0.995);
    targetsHold(r);
  }, 180_000);
});
