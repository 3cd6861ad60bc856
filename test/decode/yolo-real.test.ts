import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/decode/index.js';
import { openModel, type OpenModel } from '../../src/inspect/model.js';
import { readImage } from '../../src/source/read-image.js';
import { parseModelSpec } from '../../src/model/spec.js';
import { fixtureModel, sample } from './real-models.js';
import { CASES, expectReferences, scoreTolerance } from './yolo-references.js';

for (const [modelName, cases] of Object.entries(CASES)) {
  const tol = scoreTolerance(modelName);
  describe(`${modelName} on its README samples`, () => {
    let model: OpenModel;
    beforeAll(async () => {
      model = await openModel(fixtureModel(modelName));
    });
    afterAll(async () => model?.close());

    for (const c of cases) {
      it(`${c.image}: every reference >= 0.45 found with same class, IoU >= 0.5, score +-${tol}${c.complete ? '; no confident detection off the references' : ''}`, async () => {
        const image = await readImage(sample(modelName, c.image));
        const { decoded } = await model.inferImage(image);
        expectReferences(c, decoded, image, tol);
      });
    }
  });
}

describe('neu-det-yolov8n-int8 rolled-in_scale_263 (README gives scores only)', () => {
  it('finds >= 2 rolled-in_scale and nothing else, each box centre inside a ground-truth box from the sample XML', async () => {
    const model = await openModel(fixtureModel('neu-det-yolov8n-int8'));
    try {
      const { decoded } = await model.inferImage(await readImage(sample('neu-det-yolov8n-int8', 'rolled-in_scale_263.jpg')));
      const xml = readFileSync(sample('neu-det-yolov8n-int8', 'rolled-in_scale_263.xml'), 'utf8');
      const gt = [...xml.matchAll(/<xmin>(\d+)<\/xmin>\s*<ymin>(\d+)<\/ymin>\s*<xmax>(\d+)<\/xmax>\s*<ymax>(\d+)<\/ymax>/g)].map((m) =>
        m.slice(1, 5).map(Number),
      );
      expect(gt).toHaveLength(2);
      expect(decoded.candidates.length).toBeGreaterThanOrEqual(2);
      expect(decoded.score).toBeCloseTo(0.48, 1);
      for (const c of decoded.candidates) {
        expect(c.label).toBe('rolled-in_scale');
        const cx = c.box![0] + c.box![2] / 2;
        const cy = c.box![1] + c.box![3] / 2;
        expect(gt.some(([x1, y1, x2, y2]) => cx >= x1! && cx <= x2! && cy >= y1! && cy <= y2!), `centre (${cx},${cy})`).toBe(true);
      }
    } finally {
      await model.close();
    }
  });
});

describe('end2end decoder on a real detection set', () => {
  it('re-decodes coco-yolo11n bus.jpg detections written as 1 x N x 6 (input pixels) to the same frame boxes', async () => {
    const model = await openModel(fixtureModel('coco-yolo11n-int8-320'));
    try {
      const prepared = await model.prepare(await readImage(sample('coco-yolo11n-int8-320', 'bus.jpg')));
      const transform = prepared.transform;
      const v8 = model.decode(await model.run(prepared), prepared).candidates;
      expect(v8.length).toBeGreaterThanOrEqual(4);
      const rows = v8.flatMap((c) => {
        const [x, y, w, h] = c.box!;
        const toIn = (fx: number, fy: number) => [fx * transform.scaleX + transform.padLeft, fy * transform.scaleY + transform.padTop];
        return [...toIn(x, y), ...toIn(x + w, y + h), c.score, model.spec.labels.indexOf(c.label)];
      });
      const e2eSpec = parseModelSpec({ ...model.spec, decoder: { type: 'yolo', output: 'output0', layout: 'end2end' } }, 'e2e');
      const e2e = createDecoder(e2eSpec).decode({ output0: { type: 'float32', dims: [1, v8.length, 6], data: Float32Array.from(rows) } }, transform);
      expect(e2e.candidates.map((c) => c.label)).toEqual(v8.map((c) => c.label));
      e2e.candidates.forEach((c, i) => c.box!.forEach((v, k) => expect(v).toBeCloseTo(v8[i]!.box![k]!, 2)));
    } finally {
      await model.close();
    }
  });
});
