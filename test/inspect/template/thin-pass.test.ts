import { describe, expect, it } from 'vitest';
import { PatchClassifierDecoder } from '../../../src/decode/patch-classifier.js';
import { readBoardBoxes } from '../../../src/eval/deeppcb-layout.js';
import { iou, PAPER_IOU } from '../../../src/eval/detection-score.js';
import { deeppcbBoard, judgeBoard, useTemplateModel } from '../../helpers/template-model.js';

/**
 * The thin-defect pass (v0.4.0, src/inspect/template/thinpass.ts) on a real DeepPCB train board
 * whose two shallow mousebites the main comparison leaves no blob on (its opening removes them):
 * with the pass, the shipped model reports both as mousebites; with it switched off, neither.
 */
const sample = deeppcbBoard('group20085', '20085154');
const bites = readBoardBoxes(sample).filter((t) => [403, 102].includes(t.box[0]) && t.label === 'mousebite');
const templateModel = useTemplateModel();

async function reported(withThin: boolean) {
  const t = templateModel().spec.template!;
  const { thin, ...difference } = t.difference;
  const spec = { ...templateModel().spec, template: { ...t, difference: withThin ? { ...difference, thin } : difference } };
  return (await judgeBoard(templateModel(), spec, sample)).reports;
}

const found = (reports: Awaited<ReturnType<typeof reported>>) => bites.filter((b) => reports.some((r) => r.label === 'mousebite' && iou(r.box!, b.box) > PAPER_IOU));

describe('golden-template thin-defect pass', () => {
  it('the shipped model has it, for bright differences only, its candidates held to 0.9', () => {
    expect(templateModel().spec.template!.difference.thin).toMatchObject({ polarity: 'bright', minScore: 0.9, openPx: 0 });
    expect(templateModel().spec.version).toBe('0.6.0');
  });

  it('finds the two shallow mousebites of board 20085154 that the main comparison misses', async () => {
    expect(bites).toHaveLength(2);
    expect(found(await reported(true))).toHaveLength(2);
    expect(found(await reported(false))).toHaveLength(0);
  });

  it('a thin region is a candidate only at its minScore: a mousebite at 0.85 is dropped, the same row on a main region is kept', () => {
    const decoder = new PatchClassifierDecoder(templateModel().spec);
    const row = Float32Array.from([0.05, 0.02, 0.02, 0.85, 0.02, 0.02, 0.02]);
    const transform = { frameWidth: 640, frameHeight: 640, scaleX: 1, scaleY: 1, padLeft: 0, padTop: 0 };
    const decode = (minScore?: number) => decoder.decode({ probs: { type: 'float32', dims: [1, 7], data: row } }, transform, [{ box: [10, 10, 28, 28], areaPx: 9, ...(minScore === undefined ? {} : { minScore }) }]).candidates;
    expect(decode().map((c) => c.label)).toEqual(['mousebite']);
    expect(decode(0.9)).toEqual([]);
  });
});
