import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelLoadError, ModelOutputRangeError } from '../../src/errors.js';
import { openModel } from '../../src/inspect/model.js';
import { readImage } from '../../src/source/read-image.js';
import { fixtureModel, sample } from '../decode/real-models.js';

/** A copy of a fixture model.json in a temp dir, with file paths made absolute and fields changed. */
function variant(name: string, change: (spec: Record<string, any>) => void): string {
  const src = fixtureModel(name);
  const spec = JSON.parse(readFileSync(src, 'utf8'));
  const dir = resolve(src, '..');
  for (const p of ['fp32', 'int8'] as const) if (spec.files[p]) spec.files[p] = resolve(dir, spec.files[p]);
  if (spec.selfTest) spec.selfTest = spec.selfTest.map((f: string) => resolve(dir, f));
  change(spec);
  const out = join(mkdtempSync(join(tmpdir(), 'inspectd-model-')), 'model.json');
  writeFileSync(out, JSON.stringify(spec));
  return out;
}

describe('openModel', () => {
  it('opens a real model, reports its info and runs preprocess, backend and decode separately', async () => {
    const model = await openModel(fixtureModel('neu-det-yolov8n-int8'), { intraOpThreads: 1 });
    try {
      expect(model.info).toEqual({ name: 'neu-det-yolov8n-int8', version: 'fixture-1', precision: 'int8', backend: 'onnxruntime' });
      const image = await readImage(sample('neu-det-yolov8n-int8', 'patches_252.jpg'));
      const prepared = await model.prepareTensor(image);
      expect(prepared.dims).toEqual([1, 3, 640, 640]);
      const decoded = model.decode(await model.backend.run(model.toInputs(prepared)), prepared);
      expect(decoded.candidates.filter((c) => c.label === 'patches')).toHaveLength(3);
      const { timings } = await model.inferImage(image);
      // Named keys first: a loop over an empty object would assert nothing.
      expect(Object.keys(timings).sort()).toEqual(['decodeMs', 'inferMs', 'preMs']);
      for (const v of Object.values(timings)) expect(v).toBeGreaterThan(0);
    } finally {
      await model.close();
    }
  });

  it('rejects the degraded static-quant YOLO at load with ModelOutputRangeError naming the output, the value and the image', async () => {
    const err = await openModel(fixtureModel('coco-yolov8n-qdq-320-degraded')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelOutputRangeError);
    expect((err as ModelOutputRangeError).code).toBe('INSPECTD_MODEL_OUTPUT_RANGE');
    expect((err as Error).message).toMatch(/self-test image .*bus\.jpg.*"output0".*1\.50635.*scoreRange \[0, 1\]/);
  });

  it('a mid-grey frame alone does not expose the degraded model: the self-test images are what catch it', async () => {
    const path = variant('coco-yolov8n-qdq-320-degraded', (s) => delete s.selfTest);
    // Without its self-test images the degraded export loads (the grey warm-up frame passes)...
    const model = await openModel(path);
    try {
      expect(model.info.name).toBe('coco-yolov8n-qdq-320-degraded');
      // ...and only a real image shows its scores leave [0, 1].
      const bus = await readImage(sample('coco-yolov8n-qdq-320-degraded', 'bus.jpg'));
      await expect(model.inferImage(bus)).rejects.toThrow(ModelOutputRangeError);
    } finally {
      await model.close();
    }
  });

  it('names the mismatch when model.json input or output names are not in the ONNX file', async () => {
    const badInput = variant('coco-yolo11n-int8-320', (s) => (s.input.name = 'image'));
    await expect(openModel(badInput)).rejects.toThrow(ModelLoadError);
    await expect(openModel(badInput)).rejects.toThrow(/input.name "image" is not an input of the ONNX model \(it has: images\)/);
    const badOutput = variant('coco-yolo11n-int8-320', (s) => (s.decoder.output = 'output1'));
    await expect(openModel(badOutput)).rejects.toThrow(/decoder output "output1" is not an output.*output0/);
  });

  it('fails with ModelLoadError when a self-test image is missing, and when the ONNX file is', async () => {
    await expect(openModel(variant('coco-yolo11n-int8-320', (s) => (s.selfTest = ['/nonexistent/part.png'])))).rejects.toThrow(
      /self-test image \/nonexistent\/part\.png/,
    );
    await expect(openModel(variant('coco-yolo11n-int8-320', (s) => (s.files.int8 = '/nonexistent.onnx')))).rejects.toThrow(ModelLoadError);
  });
});
