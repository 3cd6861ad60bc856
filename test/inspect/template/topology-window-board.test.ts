import { describe, expect, it } from 'vitest';
import { readBoardBoxes } from '../../../src/eval/deeppcb-layout.js';
import { iou, PAPER_IOU } from '../../../src/eval/detection-score.js';
import type { OpenModel } from '../../../src/inspect/model.js';
import { deeppcbBoard, judgeBoard, useTemplateModel } from '../../helpers/template-model.js';

/**
 * v0.6.0's topology window (model.json decoder.topology.window: the blob's box + 4 px) on real
 * DeepPCB train board 20085174, whose short is a 115×39 px bridge, wider than the 48 px patch.
 * Counted over the patch window only the bridge's middle shows: a new copper piece (cell 8, the
 * copper speck's cell). Counted over the blob's box the bridge joins two tracks (cell 2, the
 * short's). The shipped model reports it as a short; the same table counted over the patch window
 * reports no short there.
 */
const sample = deeppcbBoard('group20085', '20085174');
const short = readBoardBoxes(sample).find((t) => t.label === 'short' && t.box[0] === 43 && t.box[1] === 577)!;
const templateModel = useTemplateModel();
type PatchDecoderSpec = Extract<OpenModel['spec']['decoder'], { type: 'patch-classifier' }>;

async function atTheShort(withWindow: boolean) {
  const shipped = templateModel().spec;
  const topology = (shipped.decoder as PatchDecoderSpec).topology!;
  const { window: _window, ...patchWindow } = topology;
  const spec = { ...shipped, decoder: { ...shipped.decoder, topology: withWindow ? topology : patchWindow } as PatchDecoderSpec };
  const { reports, regions } = await judgeBoard(templateModel(), spec, sample);
  return {
    cells: regions.filter((r) => iou(r.box, short.box) > PAPER_IOU).map((r) => r.topology),
    labels: reports.filter((c) => iou(c.box!, short.box) > PAPER_IOU).map((c) => c.label),
  };
}

describe('topology window on a real wide short (v0.6.0)', () => {
  it('the shipped model counts the cell over the blob box + 4 px', () => {
    expect(templateModel().spec.version).toBe('0.6.0');
    expect((templateModel().spec.decoder as PatchDecoderSpec).topology?.window).toEqual({ marginPx: 4, isolate: false });
  });

  it('board 20085174: its 115 px short is cell 2 and reported a short; over the patch window it is cell 8 and no short is reported', async () => {
    expect(short.box[2]).toBeGreaterThan(48);
    const whole = await atTheShort(true);
    expect(whole.cells).toEqual([2]);
    expect(whole.labels).toEqual(['short']);
    const cut = await atTheShort(false);
    expect(cut.cells).toEqual([8]);
    expect(cut.labels).not.toContain('short');
  });
});
