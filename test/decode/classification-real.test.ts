import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/decode/index.js';
import type { Decoded } from '../../src/decode/decoder.js';
import { openModel, type OpenModel } from '../../src/inspect/model.js';
import { readImage } from '../../src/source/read-image.js';
import { parseModelSpec } from '../../src/model/spec.js';
import { fixtureModel, MT_VAL, MT_VAL_SAMPLE, repoRoot, shared } from './real-models.js';

/**
 * The classification decoder on a real ONNX model's outputs: test/fixtures/models/magnetic-tile-classifier
 * is inspectd's own trained magnetic-tile network re-exported (tools/model/make_decoder_fixtures.py)
 * with a softmax-ready head logits = [0, z] over [good, defect], z being the logit behind the
 * native model's pred_score. So on every image the decoder's part score, 1 - softmax(logits)[good],
 * must equal models/magnetic-tile 1.0.0's FP32 pred_score (test/fixtures/models/magnetic-tile-1.0), and the verdicts must agree at the shipped
 * threshold. Images: real magnetic-tile val tiles, 6 defect-free and one or more of each defect kind.
 */
const VAL = MT_VAL;
const MT_IMAGES = MT_VAL_SAMPLE;

interface Row {
  file: string;
  defect: boolean;
  logits: Float32Array;
  cls: Decoded;
  native: number;
}

describe('classification decoder on a real model (magnetic-tile weights as a softmax classifier)', () => {
  let cls: OpenModel;
  let native: OpenModel;
  const rows: Row[] = [];

  beforeAll(async () => {
    for (const { file } of MT_IMAGES) {
      if (!existsSync(resolve(VAL, file))) throw new Error(`magnetic-tile val image ${resolve(VAL, file)} is missing (../shared must sit beside the repo)`);
    }
    cls = await openModel(fixtureModel('magnetic-tile-classifier'), { intraOpThreads: 1 });
    native = await openModel(fixtureModel('magnetic-tile-1.0'), { precision: 'fp32', intraOpThreads: 1 });
    for (const img of MT_IMAGES) {
      const image = await readImage(resolve(VAL, img.file));
      const prepared = await cls.prepare(image);
      const outputs = await cls.run(prepared);
      const logits = Float32Array.from(outputs['logits']!.data as Float32Array);
      expect(outputs['logits']!.dims).toEqual([1, 2]);
      const decoded = cls.decode(outputs, prepared);
      const nat = await native.inferImage(image);
      rows.push({ ...img, logits, cls: decoded, native: nat.decoded.score });
    }
  }, 60_000);

  afterAll(async () => {
    await cls?.close();
    await native?.close();
  });

  it('is the softmax classification spec it claims to be', () => {
    expect(cls.spec.decoder).toMatchObject({ type: 'classification', output: 'logits', activation: 'softmax', goodLabel: 'good' });
    expect(cls.spec.labels).toEqual(['good', 'defect']);
    expect(cls.spec.input).toEqual(native.spec.input);
  });

  it("part score = 1 - p(good) equals the native FP32 pred_score on every image (|diff| < 1e-5)", () => {
    expect(rows).toHaveLength(12);
    for (const r of rows) {
      expect(r.logits[0], r.file).toBe(0); // the good logit is the constant 0
      expect(Math.abs(r.cls.score - r.native), `${r.file}: classifier ${r.cls.score} vs native ${r.native}`).toBeLessThan(1e-5);
      // the decoder's own softmax, recomputed independently: p(defect) = 1 / (1 + e^(0 - z))
      expect(r.cls.score).toBeCloseTo(1 / (1 + Math.exp(-r.logits[1]!)), 12);
      expect(r.cls.judge).toBe('part');
      expect(r.cls.partLabel).toBe('defect');
      expect(r.cls.candidates).toEqual([{ label: 'defect', score: expect.closeTo(r.cls.score, 12) }]);
    }
    // real spread: the scores run from near 0 to near 1, so the match is not a constant's
    const scores = rows.map((r) => r.cls.score);
    expect(Math.min(...scores)).toBeLessThan(1e-4);
    expect(Math.max(...scores)).toBeGreaterThan(0.999);
  });

  it('gives the native verdict at the shipped threshold, with both verdicts present', () => {
    const t = native.spec.thresholds.default;
    expect(cls.spec.thresholds.default).toBe(t);
    const verdicts = rows.map((r) => (r.cls.score >= t ? 'FAIL' : 'PASS'));
    expect(verdicts).toEqual(rows.map((r) => (r.native >= t ? 'FAIL' : 'PASS')));
    for (const r of rows) expect(Math.abs(r.native - t), `${r.file} sits on the threshold`).toBeGreaterThan(1e-4);
    expect(verdicts).toContain('PASS');
    expect(verdicts).toContain('FAIL');
    // every defective tile fails at the shipped threshold (escape-averse rule)
    rows.forEach((r, i) => {
      if (r.defect) expect(verdicts[i], r.file).toBe('FAIL');
    });
  });

  it('honours the label order: the same logits read with [defect, good] give 1 - score', () => {
    const swapped = parseModelSpec({ ...JSON.parse(JSON.stringify(cls.spec)), labels: ['defect', 'good'] }, 'swapped');
    const dec = createDecoder(swapped);
    for (const r of rows) {
      const d = dec.decode({ logits: { type: 'float32', dims: [1, 2], data: r.logits } }, undefined as never);
      expect(d.score).toBeCloseTo(1 - r.cls.score, 9);
    }
  });
});
