import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { judgeFile } from '../../src/cli/commands/infer.js';
import { createDecoder } from '../../src/decode/index.js';
import { openModel } from '../../src/inspect/model.js';
import { decide, rulesFromSpec } from '../../src/verdict/rules.js';
import { MT_VAL, repoRoot } from './real-models.js';
import { anomalyOutputs, identity, specWith } from './spec-helpers.js';

const outputs = anomalyOutputs;

describe('a FAIL of a map model always says where', () => {
  const spec = specWith({ type: 'anomaly-map', pixelThreshold: 0.5, defectLabel: 'defect' }, ['defect'], { thresholds: { default: 0.3 } });

  it('no cell reaches pixelThreshold: the FAIL carries the box of the cells within half the map maximum around it', () => {
    // 4 x 4 map over 640 x 640 (160 px cells); peak 0.4 at (2,1) with a 0.25 neighbour at (3,1); 0.1 elsewhere under half the peak.
    const map = new Array(16).fill(0.1);
    map[1 * 4 + 2] = 0.4;
    map[1 * 4 + 3] = 0.25;
    const d = createDecoder(spec).decode(outputs(0.8, 4, 4, map), identity(640, 640));
    expect(d.candidates).toEqual([]);
    expect(d.peak).toMatchObject({ label: 'defect', score: expect.closeTo(0.4, 6), box: [320, 160, 320, 160] });
    const decision = decide(d, rulesFromSpec(spec));
    expect(decision.verdict).toBe('FAIL');
    expect(decision.defects).toEqual([{ label: 'defect', score: expect.closeTo(0.8, 6), box: [320, 160, 320, 160] }]);
  });

  it('the peak cannot veto: outside the ROI the part still FAILs on its score (fail-safe), and a PASS carries nothing', () => {
    const map = new Array(16).fill(0);
    map[0] = 0.3;
    const d = createDecoder(spec).decode(outputs(0.8, 4, 4, map), identity(640, 640));
    expect(decide(d, rulesFromSpec(spec, { roi: [400, 400, 100, 100] })).verdict).toBe('FAIL');
    const pass = createDecoder(spec).decode(outputs(0.1, 4, 4, map), identity(640, 640));
    expect(decide(pass, rulesFromSpec(spec))).toEqual({ verdict: 'PASS', score: expect.closeTo(0.1, 6), defects: [] });
    // When regions exist the peak is not computed: candidates already say where.
    map[5] = 0.9;
    expect(createDecoder(spec).decode(outputs(0.8, 4, 4, map), identity(640, 640)).peak).toBeUndefined();
  });

  it('magnetic-tile val MT_Blowhole/exp6_num_346414 (no map cell >= 0.5, score over the threshold) FAILs with a box inside the tile', async () => {
    const model = await openModel(join(repoRoot, 'models/magnetic-tile/model.json'), { precision: 'fp32' });
    try {
      const line = await judgeFile(model, join(MT_VAL, 'MT_Blowhole/exp6_num_346414.jpg'), 0.0166);
      expect(line.verdict).toBe('FAIL');
      expect(line.defects).toHaveLength(1);
      const box = line.defects[0]!.box!;
      expect(box, 'a FAIL without a box').toBeDefined();
      expect(box[0]).toBeGreaterThanOrEqual(0);
      expect(box[1]).toBeGreaterThanOrEqual(0);
      expect(box[0] + box[2]).toBeLessThanOrEqual(line.width + 1e-6);
      expect(box[1] + box[3]).toBeLessThanOrEqual(line.height + 1e-6);
    } finally {
      await model.close();
    }
  });
});
