import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { iou, PAPER_IOU } from '../../../src/eval/detection-score.js';
import { listBoardSamples, readBoardBoxes } from '../../../src/eval/deeppcb-layout.js';
import { loadModelSpec } from '../../../src/model/spec.js';
import { opencv, type Mat } from '../../../src/preprocess/opencv.js';
import { ReferenceBook } from '../../../src/inspect/template/references.js';
import { prepareAgainstReference } from '../../../src/inspect/template/stage.js';
import { readImageFile } from '../../../src/source/read-image.js';
import { sharedRoot } from '../../helpers/model.js';

/**
 * The template stage (registration, tolerant difference, blobs) on real DeepPCB pairs with the
 * shipped model's settings: its candidate boxes reach the annotated defects, and a board compared
 * with its own template, moved by a sub-pixel shift and re-lit, shows no difference at all.
 */
const cv = opencv();
const spec = loadModelSpec(join(__dirname, '../../../models/deeppcb-template/model.json')).spec;
const root = join(sharedRoot, 'data/deeppcb/trainval');
// Three boards from three groups, a few seconds on a loaded CI box.
const samples = ['group00041/00041000', 'group20085/20085001', 'group50600/50600003'].map((p) => {
  const [group, id] = p.split('/') as [string, string];
  return listBoardSamples(join(root, group)).find((s) => s.id === id)!;
});

async function prepared(tested: Mat, template: Mat, over: Partial<NonNullable<typeof spec.template>['difference']> = {}) {
  const book = new ReferenceBook(spec.template!.registration);
  await book.put('board', template);
  try {
    const withOver = { ...spec, template: { ...spec.template!, difference: { ...spec.template!.difference, ...over } } };
    return await prepareAgainstReference(tested, book.forFrame({ camera: 'test' }), withOver);
  } finally {
    book.close();
  }
}

describe('golden-template detector on real DeepPCB boards', () => {
  it('puts a candidate box on at least 90% of the annotated defects (IoU > 0.33, class not yet named)', async () => {
    let truths = 0;
    let reached = 0;
    for (const s of samples) {
      const truth = readBoardBoxes(s);
      const result = await prepared(await readImageFile(s.tested), await readImageFile(s.template));
      truths += truth.length;
      reached += truth.filter((t) => result.regions.some((r) => iou(r.box, t.box) > PAPER_IOU)).length;
      // The main comparison's nuisance stays few; the thin pass adds at most its own cap (thinpass.ts).
      const main = result.blobs.filter((b) => b.pass === 'main').length;
      expect(main).toBeLessThanOrEqual(3 * truth.length);
      expect(result.regions.length - main).toBeLessThanOrEqual(spec.template!.difference.thin!.maxCandidates);
      expect(result.dims).toEqual([Math.max(1, result.regions.length), 3, 48, 48]);
    }
    expect(truths).toBeGreaterThan(15);
    expect(reached / truths).toBeGreaterThanOrEqual(0.9);
  });

  it('finds nothing on a template against itself, shifted by (2.5, -1.5) px and re-lit (contrast 0.8, +20 grey)', async () => {
    for (const s of samples) {
      const template = await readImageFile(s.template);
      const m = new cv.Mat([[1, 0, 2.5], [0, 1, -1.5]], cv.CV_64F);
      const grey = template.channels === 1 ? template : template.cvtColor(cv.COLOR_BGR2GRAY);
      const frame = grey.warpAffine(m, new cv.Size(grey.cols, grey.rows), cv.INTER_LINEAR, cv.BORDER_REPLICATE).convertTo(cv.CV_8U, 0.8, 20);
      const result = await prepared(frame, template);
      expect(result.regions).toEqual([]);
      // The tolerance is what forgives the residual edge jitter: without the min/max envelope and
      // the opening, and at a low grey threshold, the same comparison shows blobs along the edges.
      const strict = await prepared(frame, template, { tolerancePx: 0, openPx: 0, greyThreshold: 20 });
      expect(strict.regions.length).toBeGreaterThan(0);
      expect(Math.hypot(result.registration.shiftPx[0] + 2.5, result.registration.shiftPx[1] - 1.5)).toBeLessThan(0.3);
    }
  });
});
