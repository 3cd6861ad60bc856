import { describe, expect, it } from 'vitest';
import { YoloDecoder } from '../../src/decode/yolo.js';
import { createDecoder } from '../../src/decode/index.js';
import { DecodeError, ModelOutputRangeError } from '../../src/errors.js';
import { identity, LETTERBOX_1280x720_TO_640, specWith, tensor } from './spec-helpers.js';

const LABELS = ['scratch', 'dent', 'spot'];

/** Builds a 1 x (4+nc) x N v8 tensor from per-anchor [cx, cy, w, h, ...scores]. */
function v8Tensor(anchors: number[][], nc = LABELS.length): Float32Array {
  const n = anchors.length;
  const out = new Float32Array((4 + nc) * n);
  anchors.forEach((a, i) => a.forEach((v, r) => (out[r * n + i] = v)));
  return out;
}

describe('yolo end2end layout (1 x N x 6)', () => {
  const spec = specWith({ type: 'yolo', output: 'output0', layout: 'end2end', candidateThreshold: 0.25 }, LABELS);

  it('maps known input-pixel boxes through the letterbox to exact frame pixels, clips to the frame and drops padding-only and low-score rows', () => {
    const rows = [
      // x1, y1, x2, y2, score, class
      [100, 200, 300, 400, 0.9, 1], // fully inside the picture
      [600, 100, 700, 160, 0.6, 0], // right edge past the 640 input; top inside the 140 px pad
      [10, 10, 200, 120, 0.95, 2], // entirely inside the top padding: nothing on the frame
      [50, 300, 60, 310, 0.1, 0], // below candidateThreshold
    ];
    const d = createDecoder(spec).decode(tensor('output0', [1, rows.length, 6], rows.flat()), LETTERBOX_1280x720_TO_640);
    expect(d.candidates).toHaveLength(2);
    expect(d.candidates[0]).toEqual({ label: 'dent', score: expect.closeTo(0.9, 6), box: [200, 120, 400, 400], areaPx: 160000 });
    // x: 600/0.5 = 1200 .. min(1400, 1280); y: max((100-140)/0.5, 0) = 0 .. (160-140)/0.5 = 40
    expect(d.candidates[1]).toEqual({ label: 'scratch', score: expect.closeTo(0.6, 6), box: [1200, 0, 80, 40], areaPx: 3200 });
    expect(d.score).toBeCloseTo(0.9, 6);
  });

  it('sorts by score and keeps at most maxDetections', () => {
    const s = specWith({ type: 'yolo', output: 'output0', layout: 'end2end', maxDetections: 2 }, LABELS);
    const rows = [0.3, 0.8, 0.5, 0.7].map((sc, i) => [i * 10, 0, i * 10 + 5, 5, sc, 0]);
    const d = new YoloDecoder(s).decode(tensor('output0', [1, 4, 6], rows.flat()), identity(640, 640));
    expect(d.candidates.map((c) => c.score)).toEqual([expect.closeTo(0.8, 6), expect.closeTo(0.7, 6)]);
  });

  it('rejects a score above scoreRange with ModelOutputRangeError naming the output and value', () => {
    const rows = [[0, 0, 10, 10, 1.5063561, 0]];
    const dec = createDecoder(spec);
    expect(() => dec.decode(tensor('output0', [1, 1, 6], rows.flat()), identity(640, 640))).toThrow(ModelOutputRangeError);
    expect(() => dec.decode(tensor('output0', [1, 1, 6], rows.flat()), identity(640, 640))).toThrow(/"output0".*1\.506/);
  });

  it('rejects a class id outside the labels and a wrong shape with DecodeError', () => {
    const dec = createDecoder(spec);
    expect(() => dec.decode(tensor('output0', [1, 1, 6], [0, 0, 10, 10, 0.9, 7]), identity(640, 640))).toThrow(DecodeError);
    expect(() => dec.decode(tensor('output0', [1, 1, 7], [0, 0, 10, 10, 0.9, 0, 0]), identity(640, 640))).toThrow(/expected \[1, N, 6\]/);
  });
});

describe('yolo v8 layout (1 x (4+nc) x N)', () => {
  const spec = specWith({ type: 'yolo', output: 'output0', layout: 'v8', iouThreshold: 0.45, candidateThreshold: 0.25 }, LABELS);

  it('takes each anchor`s best class and maps cx,cy,w,h through the letterbox', () => {
    const t = v8Tensor([
      [200, 300, 200, 200, 0.1, 0.8, 0.3],
      [50, 50, 10, 10, 0.1, 0.1, 0.2], // below threshold everywhere
    ]);
    const d = createDecoder(spec).decode(tensor('output0', [1, 7, 2], t), LETTERBOX_1280x720_TO_640);
    expect(d.candidates).toEqual([{ label: 'dent', score: expect.closeTo(0.8, 6), box: [200, 120, 400, 400], areaPx: 160000 }]);
  });

  it('suppresses overlapping boxes of the same class but keeps overlapping boxes of different classes', () => {
    const t = v8Tensor([
      [100, 100, 100, 100, 0.9, 0, 0],
      [105, 100, 100, 100, 0.7, 0, 0], // IoU ~0.9 with the first, same class: suppressed
      [100, 105, 100, 100, 0, 0.6, 0], // same place, other class: kept
      [400, 400, 50, 50, 0.5, 0, 0], // same class, no overlap: kept
    ]);
    const d = createDecoder(spec).decode(tensor('output0', [1, 7, 4], t), identity(640, 640));
    expect(d.candidates.map((c) => [c.label, Number(c.score.toFixed(2))])).toEqual([
      ['scratch', 0.9],
      ['dent', 0.6],
      ['scratch', 0.5],
    ]);
    expect(d.candidates[0]!.box).toEqual([50, 50, 100, 100]);
    expect(d.score).toBeCloseTo(0.9, 6);
  });

  it('returns score 0 and no candidates when nothing reaches candidateThreshold', () => {
    const t = v8Tensor([[100, 100, 10, 10, 0.2, 0.1, 0]]);
    const d = createDecoder(spec).decode(tensor('output0', [1, 7, 1], t), identity(640, 640));
    expect(d).toMatchObject({ score: 0, candidates: [] });
  });

  it('rejects the degraded static-quant pattern (scores 0 or 1.506) with ModelOutputRangeError', () => {
    const t = v8Tensor([
      [100, 100, 10, 10, 0, 0, 0],
      [100, 100, 10, 10, 0, 1.5063561, 0],
    ]);
    expect(() => createDecoder(spec).decode(tensor('output0', [1, 7, 2], t), identity(640, 640))).toThrow(
      /output "output0".*anchor 1, class 1 "dent".*1\.506.*scoreRange \[0, 1\]/,
    );
  });

  it('rejects NaN scores and a row count that does not match the labels', () => {
    const t = v8Tensor([[100, 100, 10, 10, NaN, 0, 0]]);
    expect(() => createDecoder(spec).decode(tensor('output0', [1, 7, 1], t), identity(640, 640))).toThrow(ModelOutputRangeError);
    expect(() => createDecoder(spec).decode(tensor('output0', [1, 8, 1], new Float32Array(8)), identity(640, 640))).toThrow(
      /expected \[1, 7, N\].*3 labels/,
    );
  });

  it('skips YOLO-seg mask coefficient rows when maskCoefficients is set', () => {
    const s = specWith({ type: 'yolo', output: 'output0', layout: 'v8', maskCoefficients: 2 }, LABELS);
    // mask rows hold values far outside [0,1]: they must be neither scores nor range-checked
    const t = v8Tensor([[100, 100, 20, 20, 0, 0, 0.9, -7, 42]], 5);
    const d = createDecoder(s).decode(tensor('output0', [1, 9, 1], t), identity(640, 640));
    expect(d.candidates).toEqual([{ label: 'spot', score: expect.closeTo(0.9, 6), box: [90, 90, 20, 20], areaPx: 400 }]);
  });

  it('decodes 8400 anchors x 80 classes the same way frame after frame (its buffers are reused)', () => {
    const labels = Array.from({ length: 80 }, (_, i) => `c${i}`);
    const s = specWith({ type: 'yolo', output: 'output0', layout: 'v8' }, labels);
    const n = 8400;
    const data = new Float32Array(84 * n);
    let seed = 1;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (let i = 0; i < n; i++) {
      data[i] = rnd() * 640;
      data[n + i] = rnd() * 640;
      data[2 * n + i] = 5 + rnd() * 100;
      data[3 * n + i] = 5 + rnd() * 100;
    }
    // Mostly background, a few hundred anchors above threshold, like a real frame.
    for (let k = 4 * n; k < 84 * n; k++) data[k] = rnd() < 0.0005 ? 0.3 + rnd() * 0.7 : rnd() * 0.05;
    const dec = createDecoder(s);
    const outputs = tensor('output0', [1, 84, n], data);
    const t = identity(640, 640);
    for (let i = 0; i < 5; i++) dec.decode(outputs, t);
    // Decoding speed is a benchmark's business (inspectd bench, stage 'judge'); here: reused buffers
    // must not leak one frame's candidates into the next.
    const first = JSON.stringify(dec.decode(outputs, t).candidates);
    expect(JSON.parse(first).length).toBeGreaterThan(0);
    for (let i = 0; i < 10; i++) expect(JSON.stringify(dec.decode(outputs, t).candidates)).toBe(first);
  });
});
