import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { averagePrecision, iou, scoreDetections, type ImageDetections } from '../../src/eval/detection-score.js';
import { listBoardSamples, parseBoardBoxes } from '../../src/eval/deeppcb-layout.js';

describe('detection scored the DeepPCB paper way (IoU > 0.33, same class)', () => {
  it('gives the AP, mAP and F-score worked out by hand on a constructed case', () => {
    // Image A: open truths T1 [0,0,10,10] and T2 [20,20,10,10]. Image B: open T3 [0,0,10,10], short S1 [50,50,20,20].
    // "open" detections in descending score:
    //   d1 0.9 A [0,0,10,10]  IoU(T1) = 1                       -> TP
    //   d2 0.8 A [1,1,10,10]  T1 already taken, IoU(T2) = 0     -> FP (a duplicate)
    //   d3 0.7 B [5,0,10,10]  IoU(T3) = 50/150 = 0.3333 > 0.33  -> TP
    //   d4 0.6 A [20,20,10,31] IoU(T2) = 100/310 = 0.3226        -> FP (just under the bar)
    //   recall 1/3, 1/3, 2/3, 2/3; precision 1, 1/2, 2/3, 1/2; envelope 1, 2/3, 2/3, 1/2
    //   AP(open) = 1/3·1 + 0 + 1/3·2/3 + 0 = 5/9 = 55.56
    // "short" detections: x1 0.95 on T1 (an open defect: the class differs) -> FP; x2 0.5 B on S1 -> TP
    //   recall 0, 1; precision 0, 1/2; envelope 1/2, 1/2 -> AP(short) = 1·1/2 = 50
    // "spur": one detection, no truth: AP 0 but left out of the mean (no truth boxes).
    // mAP = (5/9 + 1/2) / 2 = 19/36 = 52.78
    // F at the reported set (score >= 0.65: d1, d2, d3, x1): TP 2, FP 2, FN 4 - 2 = 2 -> P = R = F = 50
    const images: ImageDetections[] = [
      {
        truth: [
          { label: 'open', box: [0, 0, 10, 10] },
          { label: 'open', box: [20, 20, 10, 10] },
        ],
        candidates: [
          { label: 'open', score: 0.9, box: [0, 0, 10, 10] },
          { label: 'open', score: 0.8, box: [1, 1, 10, 10] },
          { label: 'open', score: 0.6, box: [20, 20, 10, 31] },
          { label: 'short', score: 0.95, box: [0, 0, 10, 10] },
          { label: 'spur', score: 0.4, box: [200, 200, 10, 10] },
        ],
        reported: [],
      },
      {
        truth: [
          { label: 'open', box: [0, 0, 10, 10] },
          { label: 'short', box: [50, 50, 20, 20] },
        ],
        candidates: [
          { label: 'open', score: 0.7, box: [5, 0, 10, 10] },
          { label: 'short', score: 0.5, box: [50, 50, 20, 20] },
        ],
        reported: [],
      },
    ];
    for (const img of images) (img as { reported: unknown }).reported = img.candidates.filter((c) => c.score >= 0.65);
    const s = scoreDetections(images, ['open', 'short', 'spur']);
    expect(s.perClass.open!.ap).toBeCloseTo((5 / 9) * 100, 9);
    expect(s.perClass.short!.ap).toBeCloseTo(50, 9);
    expect(s.perClass.spur!.ap).toBe(0);
    expect(s.mAP).toBeCloseTo((19 / 36) * 100, 9);
    expect(s.perClass.open).toMatchObject({ truths: 3, tp: 2, fp: 1, fn: 1 });
    expect(s.perClass.short).toMatchObject({ truths: 1, tp: 0, fp: 1, fn: 1 });
    expect(s.fScore).toBeCloseTo(50, 9);
    expect(s.truths).toBe(4);
  });

  it('IoU and AP edge cases: disjoint boxes, no truth, every detection right', () => {
    expect(iou([0, 0, 10, 10], [10, 0, 10, 10])).toBe(0);
    expect(iou([0, 0, 10, 10], [5, 0, 10, 10])).toBeCloseTo(1 / 3, 12);
    expect(averagePrecision([true, true], 2)).toBe(1);
    expect(averagePrecision([true], 2)).toBe(0.5);
    expect(averagePrecision([false, true], 0)).toBe(0);
  });
});

describe('DeepPCB layout', () => {
  it('reads boxes with spaces or commas, with or without a last newline, as [x, y, w, h] with the class name', () => {
    expect(parseBoardBoxes('466 441 493 470 3\n454,300,493,396,2', 'a.txt')).toEqual([
      { label: 'mousebite', box: [466, 441, 27, 29] },
      { label: 'short', box: [454, 300, 39, 96] },
    ]);
    expect(() => parseBoardBoxes('1 2 3 4 7\n', 'b.txt')).toThrow(/type 7/);
    expect(() => parseBoardBoxes('5 2 3 4 1\n', 'c.txt')).toThrow(/x1 < x2/);
  });

  it('finds pairs recursively and refuses a tested image without its template', () => {
    const root = mkdtempSync(join(tmpdir(), 'deeppcb-'));
    mkdirSync(join(root, 'g1', 'inner'), { recursive: true });
    for (const f of ['1_test.jpg', '1_temp.jpg', '1.txt']) writeFileSync(join(root, 'g1', 'inner', f), '');
    expect(listBoardSamples(root).map((s) => [s.id, s.group])).toEqual([['1', 'g1/inner']]);
    writeFileSync(join(root, 'g1', '2_test.jpg'), '');
    expect(() => listBoardSamples(root)).toThrow(/2_temp\.jpg is missing/);
  });

  it('lists the shared trainval copy: 1,000 pairs over seven board groups', () => {
    const samples = listBoardSamples(join(__dirname, '../../../shared/data/deeppcb/trainval'));
    expect(samples).toHaveLength(1000);
    expect(new Set(samples.map((s) => s.group)).size).toBe(7);
  });
});
