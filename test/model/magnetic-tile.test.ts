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
 * models/magnetic-tile on the whole magnetic-tile validation split, read from ../shared at test
 * time (the images may not be redistributed, so none is committed), through the daemon's own
 * preprocessing and ONNX Runtime backend: both outputs stay in [0,1], INT8 agrees with FP32 on
 * >= 99% of verdicts, and the card's validation targets hold at the shipped threshold (AUROC >= 0.97,
 * escapes <= 2%, false rejects <= 10%, AUROC drop < 0.01). Skipped where ../shared is absent.
 */
const root = resolve(import.meta.dirname, '../..');
const specPath = resolve(root, 'models/magnetic-tile/model.json');
const data = resolve(root, '../shared/data/magnetic-tile');
describe('models/magnetic-tile on ../shared magnetic-tile val', () => {
  const models = bothPrecisions(specPath);

  it('keeps outputs in [0,1], INT8 agrees with FP32, and the validation targets hold', async () => {
    const cv = opencv();
    const t = loadModelSpec(specPath).spec.thresholds.default;
    const rows = readFileSync(resolve(data, 'manifest.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','))
      .filter((f) => f[1] === 'val');
    expect(rows.length).toBe(268);
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
    const agree = labels.filter((_, i) => s32[i]! >= t === s8[i]! >= t).length / n;
    expect(agree).toBeGreaterThanOrEqual(0.99);
    const defects = labels.filter((l) => l === 1).length;
    for (const s of [s32, s8]) {
      expect(auroc(s, labels)).toBeGreaterThanOrEqual(0.97);
      const escapes = labels.filter((l, i) => l === 1 && s[i]! < t).length;
      const falseRejects = labels.filter((l, i) => l === 0 && s[i]! >= t).length;
      expect(escapes / defects).toBeLessThanOrEqual(0.02);
      expect(falseRejects / (n - defects)).toBeLessThanOrEqual(0.1);
    }
    expect(auroc(s32, labels) - auroc(s8, labels)).toBeLessThan(0.01);
  });
});
