import { describe, expect, it } from 'vitest';
import { readBoardBoxes } from '../../../src/eval/deeppcb-layout.js';
import { ReferenceBook } from '../../../src/inspect/template/references.js';
import { prepareAgainstReference } from '../../../src/inspect/template/stage.js';
import { readImageFile } from '../../../src/source/read-image.js';
import { deeppcbBoard, useTemplateModel } from '../../helpers/template-model.js';

/**
 * The blob features rules after the classifier are studied with (blobs.ts; tools/template/candidates.ts
 * asks for them): on a real DeepPCB train board, each blob's mean contrast beyond the tolerance
 * envelope and the share of its pixels next to a reference copper edge. The daemon's own frames
 * do not compute them, and asking for them changes no blob.
 */
const sample = deeppcbBoard('group20085', '20085154');
const templateModel = useTemplateModel();

async function blobs(blobFeatures: boolean) {
  const book = new ReferenceBook(templateModel().spec.template!.registration);
  await book.put('board', await readImageFile(sample.template));
  try {
    const prepared = await prepareAgainstReference(await readImageFile(sample.tested), book.forFrame({ camera: 'f', recipe: 'board' }), templateModel().spec, { blobFeatures });
    return prepared.blobs;
  } finally {
    book.close();
  }
}

describe('golden-template blob features', () => {
  it('every blob, of either pass, has a contrast beyond the grey threshold and an edge share in [0, 1]', async () => {
    const found = await blobs(true);
    expect(found.some((b) => b.pass === 'thin')).toBe(true);
    for (const b of found) {
      expect(b.contrast).toBeGreaterThan(templateModel().spec.template!.difference.greyThreshold);
      expect(b.contrast).toBeLessThanOrEqual(255);
      expect(b.edgeShare).toBeGreaterThanOrEqual(0);
      expect(b.edgeShare).toBeLessThanOrEqual(1);
    }
  });

  it('the two shallow mousebites (thin pass) lie along a track edge', async () => {
    const bites = readBoardBoxes(sample).filter((t) => [403, 102].includes(t.box[0]) && t.label === 'mousebite');
    const found = await blobs(true);
    const inside = (b: (typeof found)[number], t: (typeof bites)[number]) => b.box[0] >= t.box[0] - 8 && b.box[1] >= t.box[1] - 8 && b.box[0] + b.box[2] <= t.box[0] + t.box[2] + 8 && b.box[1] + b.box[3] <= t.box[1] + t.box[3] + 8;
    expect(bites).toHaveLength(2);
    for (const t of bites) {
      const blob = found.find((b) => b.pass === 'thin' && inside(b, t));
      expect(blob?.edgeShare).toBeGreaterThan(0.5);
    }
  });

  it('without blobFeatures the blobs are the same and carry none', async () => {
    const plain = await blobs(false);
    const rich = await blobs(true);
    expect(plain.map((b) => [b.box, b.areaPx, b.pass])).toEqual(rich.map((b) => [b.box, b.areaPx, b.pass]));
    expect(plain.every((b) => b.contrast === undefined && b.edgeShare === undefined)).toBe(true);
  });
});
