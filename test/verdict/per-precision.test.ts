import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalCommand } from '../../src/cli/commands/eval.js';
import { judgeFile } from '../../src/cli/commands/infer.js';
import { ModelSpecError } from '../../src/errors.js';
import { openModel } from '../../src/inspect/model.js';
import { rulesAt, rulesFromSpec, thresholdFor } from '../../src/verdict/rules.js';
import { specWith } from '../decode/spec-helpers.js';
import { MT_VAL, repoRoot } from '../decode/real-models.js';
import { Capture } from '../infer/cli-helpers.js';

describe('model.json thresholds.perPrecision', () => {
  const spec = specWith({ type: 'anomaly-map' }, ['defect'], { thresholds: { default: 0.5, perPrecision: { int8: 0.4 } } });

  it('replaces the default for the file that runs; a given threshold (CLI or camera config) replaces both', () => {
    const rules = rulesFromSpec(spec);
    expect(thresholdFor(rules, 'int8')).toBe(0.4);
    expect(thresholdFor(rules, 'fp32')).toBe(0.5);
    expect(thresholdFor(rules, 'fp16')).toBe(0.5);
    expect(rulesAt(rules, 'int8').threshold).toBe(0.4);
    expect(rulesAt(rules, 'fp32')).toBe(rules);
    const camera = rulesFromSpec(spec, { threshold: 0.7 });
    expect(thresholdFor(camera, 'int8')).toBe(0.7);
    expect(() => specWith({ type: 'anomaly-map' }, ['defect'], { thresholds: { default: 0.5, perPrecision: { fp16: 0.4 } } })).toThrow(ModelSpecError);
    expect(() => specWith({ type: 'anomaly-map' }, ['defect'], { thresholds: { default: 0.5, perPrecision: { int8: 1.4 } } })).toThrow(/perPrecision\.int8/);
  });

  it('the real magnetic-tile INT8 file is judged at its own threshold by infer and eval, FP32 at the default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspectd-perprec-'));
    const shipped = JSON.parse(readFileSync(resolve(repoRoot, 'models/magnetic-tile/model.json'), 'utf8'));
    const tile = join(MT_VAL, 'MT_Blowhole/exp3_num_346347.jpg');
    const m8 = await openModel(resolve(repoRoot, 'models/magnetic-tile/model.json'), { precision: 'int8' });
    const score8 = (await judgeFile(m8, tile)).score;
    await m8.close();
    // INT8's own threshold just above this tile's INT8 score: INT8 passes it, FP32 (default, far below) fails it.
    const spec = {
      ...shipped,
      files: { fp32: resolve(repoRoot, 'models/magnetic-tile/model.onnx'), int8: resolve(repoRoot, 'models/magnetic-tile/model.int8.onnx') },
      thresholds: { ...shipped.thresholds, perPrecision: { int8: Math.min(1, score8 + 0.001) } },
    };
    const path = join(dir, 'model.json');
    writeFileSync(path, JSON.stringify(spec));
    for (const [precision, verdict] of [['int8', 'PASS'], ['fp32', 'FAIL']] as const) {
      const model = await openModel(path, { precision });
      try {
        expect((await judgeFile(model, tile)).verdict, precision).toBe(verdict);
      } finally {
        await model.close();
      }
    }
    const labels = join(dir, 'labels.csv');
    writeFileSync(labels, `file,label\n${tile},defect\n`);
    const out = new Capture();
    expect(await evalCommand({ model: path, labels, precision: 'int8', format: 'json' }, out, new Capture())).toBe(0);
    const r = JSON.parse(out.text);
    expect(r.threshold).toBeCloseTo(score8 + 0.001, 9);
    expect(r.escaped).toHaveLength(1);
  });
});
