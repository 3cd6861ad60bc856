import { describe, expect, it } from 'vitest';
import { iouXywh } from '../../../src/decode/nms.js';
import { readBoardBoxes } from '../../../src/eval/deeppcb-layout.js';
import { iou, PAPER_IOU } from '../../../src/eval/detection-score.js';
import type { OpenModel } from '../../../src/inspect/model.js';
import { deeppcbBoard, judgeBoard, useTemplateModel } from '../../helpers/template-model.js';

/**
 * v0.5.0's overlap suppression after the classifier (model.json decoder.nmsIou 0.1, chosen nested by
 * train board group: tools/template/score-candidates.ts --nms, bench/results/template-nms-choice-train.json)
 * on real DeepPCB train board 20085053, where the thin pass finds a second blob beside an open the main
 * pass already reports: with the rule the open is reported once and every reported open is a true one;
 * without it the same open is reported twice, one of them a false report.
 */
const sample = deeppcbBoard('group20085', '20085053');
const truth = readBoardBoxes(sample);
const templateModel = useTemplateModel();

async function reportedOpens(withSuppression: boolean) {
  const { nmsIou, ...rest } = templateModel().spec.decoder as Extract<OpenModel['spec']['decoder'], { type: 'patch-classifier' }>;
  const spec = { ...templateModel().spec, decoder: withSuppression ? { ...rest, nmsIou } : rest };
  return (await judgeBoard(templateModel(), spec, sample)).reports.filter((c) => c.label === 'open');
}

/** Reports matched greedily (best first) to unmatched truth opens at the paper's IoU: the false ones left over. */
function falseOpens(reports: Awaited<ReturnType<typeof reportedOpens>>) {
  const used = truth.map(() => false);
  return reports.filter((r) => {
    const k = truth.findIndex((t, i) => !used[i] && t.label === 'open' && iou(t.box, r.box!) > PAPER_IOU);
    if (k >= 0) used[k] = true;
    return k < 0;
  });
}

describe('golden-template overlap suppression (v0.5.0)', () => {
  it('the shipped model drops a candidate overlapping a better one of its class at IoU > 0.1', () => {
    expect(templateModel().spec.version).toBe('0.6.0');
    expect(templateModel().spec.decoder).toMatchObject({ type: 'patch-classifier', nmsIou: 0.1 });
  });

  it('board 20085053: its open is reported once, no false open; without the rule, twice', async () => {
    const kept = await reportedOpens(true);
    expect(kept.length).toBeGreaterThan(0);
    expect(falseOpens(kept)).toEqual([]);
    for (const a of kept) for (const b of kept) if (a !== b) expect(iouXywh(a.box!, b.box!)).toBeLessThanOrEqual(0.1);
    const all = await reportedOpens(false);
    expect(all.length).toBe(kept.length + 1);
    expect(falseOpens(all)).toHaveLength(1);
  });
});
