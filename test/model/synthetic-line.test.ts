import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModelSpec } from '../../src/model/spec.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { resizeForModel } from '../../src/preprocess/preprocess.js';
import { renderPart } from '../../src/source/synthetic/render.js';
import { bothPrecisions, inUnitRange, rawOutputs } from './helpers.js';

/**
 * models/synthetic-line on a committed sample: 40 frames of the live line's default seed (1), at
 * indices no training, validation or calibration split used (those used seeds 1000+). The sample
 * is committed as (seed, index) plus the FP32/INT8 scores the model gave when it was shipped
 * (synthetic-line.sample.json): the renderer is deterministic, so the frames are the same bytes.
 * Checks: the daemon's preprocessing of a 640x512 frame equals the training export's 2x2 mean
 * ((a+b+c+d+2)>>2) bit for bit; both outputs stay in [0,1]; INT8 and FP32 verdicts agree; verdicts
 * match the renderer's truth; scores still match the shipped ones (a renderer change that moves
 * them means the model should be retrained: tools/model/pipeline.sh all synthetic-line).
 * UPDATE_MODEL_SAMPLE=1 rewrites the sample file.
 */
const root = resolve(import.meta.dirname, '../..');
const specPath = resolve(root, 'models/synthetic-line/model.json');
const samplePath = resolve(import.meta.dirname, 'synthetic-line.sample.json');
const SEED = 1;
const FIRST = 700_000;
const COUNT = 40;
const W = 640;
const H = 512;

interface SampleRow {
  seed: number;
  index: number;
  defective: boolean;
  fp32: number;
  int8: number;
}

function halve(src: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array((w >> 1) * (h >> 1));
  for (let y = 0; y < h >> 1; y++)
    for (let x = 0; x < w >> 1; x++) {
      const i = 2 * y * w + 2 * x;
      out[y * (w >> 1) + x] = (src[i]! + src[i + 1]! + src[i + w]! + src[i + w + 1]! + 2) >> 2;
    }
  return out;
}

describe('models/synthetic-line', () => {
  const models = bothPrecisions(specPath);

  it('matches the training preprocessing bit for bit, stays in [0,1], and INT8 agrees with FP32', async () => {
    const cv = opencv();
    const spec = loadModelSpec(specPath).spec;
    const t = spec.thresholds.default;
    const rows: SampleRow[] = [];
    let maxDiff = 0;
    for (let k = 0; k < COUNT; k++) {
      const index = FIRST + k;
      const part = renderPart({ width: W, height: H, channels: 1, defectRate: 0.5, seed: SEED, index });
      const frame = new cv.Mat(Buffer.from(part.pixels), H, W, cv.CV_8UC1);
      const { mat } = await resizeForModel(frame, spec.input);
      const daemon = mat.getData();
      const train = halve(part.pixels, W, H);
      for (let i = 0; i < train.length; i++) maxDiff = Math.max(maxDiff, Math.abs(daemon[i]! - train[i]!));
      const f = await rawOutputs(models.fp32!, frame);
      const q = await rawOutputs(models.int8!, frame);
      for (const o of [f, q]) {
        expect(o.mapDims).toEqual([1, 1, H / 16, W / 16]);
        expect(inUnitRange([o.score])).toBe(true);
        expect(inUnitRange(o.map)).toBe(true);
      }
      rows.push({ seed: SEED, index, defective: part.truth.defective, fp32: f.score, int8: q.score });
    }
    expect(maxDiff).toBe(0);

    const agree = rows.filter((r) => r.fp32 >= t === r.int8 >= t).length / rows.length;
    expect(agree).toBeGreaterThanOrEqual(39 / 40);
    for (const p of ['fp32', 'int8'] as const) {
      const correct = rows.filter((r) => r[p] >= t === r.defective).length / rows.length;
      expect(correct, `${p} accuracy on the sample`).toBeGreaterThanOrEqual(0.9);
    }

    if (process.env['UPDATE_MODEL_SAMPLE'] === '1') {
      writeFileSync(samplePath, JSON.stringify({ model: spec.name, version: spec.version, threshold: t, rows }, null, 1) + '\n');
    }
    const shipped = JSON.parse(readFileSync(samplePath, 'utf8')) as { rows: SampleRow[] };
    for (const [i, r] of rows.entries()) {
      const s = shipped.rows[i]!;
      expect(r.defective, `frame ${r.index}: renderer truth changed`).toBe(s.defective);
      expect(Math.abs(r.fp32 - s.fp32), `frame ${r.index}: FP32 score moved (renderer or model changed?)`).toBeLessThan(0.02);
      expect(Math.abs(r.int8 - s.int8), `frame ${r.index}: INT8 score moved`).toBeLessThan(0.02);
    }
  });
});
