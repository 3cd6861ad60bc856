import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/decode/index.js';
import { ModelOutputRangeError, ModelSpecError } from '../../src/errors.js';
import { anomalyOutputs, identity, LETTERBOX_1280x720_TO_640, specWith } from './spec-helpers.js';

const outputs = anomalyOutputs;

describe('anomaly-map decoder', () => {
  const spec = specWith({ type: 'anomaly-map', pixelThreshold: 0.5, defectLabel: 'defect' }, ['good', 'defect']);

  it('finds the 8-connected components of a hand-built map with their boxes, peak values and areas', () => {
    // 5 x 4 map over a 640 x 640 input: each cell is 128 x 160 input pixels.
    // prettier-ignore
    const map = [
      0.9, 0,   0, 0,    0,
      0,   0.7, 0, 0,    0.2,
      0,   0,   0, 0,    0.6,
      0,   0,   0, 0.55, 0.8,
    ];
    const d = createDecoder(spec).decode(outputs(0.77, 4, 5, map), identity(640, 640));
    expect(d.score).toBeCloseTo(0.77, 6);
    expect(d.judge).toBe('part');
    expect(d.candidates).toEqual([
      { label: 'defect', score: expect.closeTo(0.9, 6), box: [0, 0, 256, 320], areaPx: 2 * 128 * 160 },
      { label: 'defect', score: expect.closeTo(0.8, 6), box: [384, 320, 256, 320], areaPx: 3 * 128 * 160 },
    ]);
  });

  it('hands on its map resampled onto the frame, 8 bits a cell: one cell per cell on a stretch', () => {
    const map = [0.9, 0, 0, 0, 0, 0, 0.7, 0, 0, 0.2, 0, 0, 0, 0, 0.6, 0, 0, 0, 0.55, 0.8];
    const d = createDecoder(spec).decode(outputs(0.77, 4, 5, map), identity(640, 640));
    expect(d.map?.()).toEqual({ width: 5, height: 4, cells: Uint8Array.from(map.map((v) => Math.round(Math.fround(v) * 255))) });
  });

  it('cuts the letterbox padding off the map it hands on, so the map covers exactly the frame', () => {
    // 4 x 4 map over 640 x 640; the 1280 x 720 frame fills input y 140..500: 2.25 rows, drawn as 2.
    // Frame row 0 (y 0..360) samples input y 230 (map row 1), frame row 1 samples y 410 (map row 2).
    const map = [0.9, 0.9, 0.9, 0.9, 0.1, 0.2, 0.3, 0.4, 1, 0, 0, 0.5, 0.9, 0.9, 0.9, 0.9];
    const d = createDecoder(spec).decode(outputs(0.9, 4, 4, map), LETTERBOX_1280x720_TO_640);
    expect(d.map?.()).toEqual({ width: 4, height: 2, cells: Uint8Array.from([26, 51, 77, 102, 255, 0, 0, 128]) });
  });

  it('maps cells through the letterbox: cells over the padding are clipped away', () => {
    // 4 x 4 map over 640 x 640 = 160 px cells; frame 1280 x 720 letterboxed with 140 px bands.
    const map = new Array(16).fill(0);
    map[0] = 0.9; // row 0 covers input y 0..160: only y 140..160 is picture, frame y 0..40
    map[15] = 0.6; // row 3 covers input y 480..640: picture up to 500, frame y 680..720
    const d = createDecoder(spec).decode(outputs(0.9, 4, 4, map), LETTERBOX_1280x720_TO_640);
    expect(d.candidates).toEqual([
      { label: 'defect', score: expect.closeTo(0.9, 6), box: [0, 0, 320, 40], areaPx: 320 * 40 },
      { label: 'defect', score: expect.closeTo(0.6, 6), box: [960, 680, 320, 40], areaPx: 320 * 40 },
    ]);
  });

  it('applies Anomalib min-max normalisation: image threshold to the score, pixel threshold to the map', () => {
    const s = specWith(
      { type: 'anomaly-map', normalization: { imageThreshold: 12.5, pixelThreshold: 10, min: 2, max: 22 } },
      ['good', 'defect'],
    );
    // span 20: score (17.5 - 12.5)/20 + 0.5 = 0.75; cell 10 -> 0.5 (in), 9.9 -> 0.495 (out), 30 -> 1 (clamped)
    const d = createDecoder(s).decode(outputs(17.5, 1, 4, [10, 9.9, 0, 30]), identity(640, 640));
    expect(d.score).toBeCloseTo(0.75, 6);
    expect(d.candidates.map((c) => [c.box![0], Number(c.score.toFixed(4))])).toEqual([
      [480, 1],
      [0, 0.5],
    ]);
    expect(createDecoder(s).decode(outputs(-100, 1, 1, [0]), identity(640, 640)).score).toBe(0);
    expect(createDecoder(s).decode(outputs(1000, 1, 1, [0]), identity(640, 640)).score).toBe(1);
  });

  it('rejects raw outputs outside scoreRange when there is no normalisation block', () => {
    const dec = createDecoder(spec);
    expect(() => dec.decode(outputs(0.5, 1, 2, [0.2, 1.2]), identity(640, 640))).toThrow(ModelOutputRangeError);
    expect(() => dec.decode(outputs(0.5, 1, 2, [0.2, 1.2]), identity(640, 640))).toThrow(/"anomaly_map".*1\.2/);
    expect(() => dec.decode(outputs(-0.1, 1, 1, [0]), identity(640, 640))).toThrow(/"pred_score"/);
  });

  it('refuses normalisation metadata with max <= min', () => {
    const s = specWith({ type: 'anomaly-map', normalization: { imageThreshold: 1, pixelThreshold: 1, min: 5, max: 5 } }, ['defect']);
    expect(() => createDecoder(s)).toThrow(ModelSpecError);
  });
});
