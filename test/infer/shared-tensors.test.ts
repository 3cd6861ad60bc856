import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel, type OpenModel } from '../../src/inspect/model.js';
import { opencv, type Mat } from '../../src/preprocess/opencv.js';
import { defaultModelJson } from '../helpers/model.js';

/**
 * The daemon's frames go to ONNX Runtime as tensors in reused shared memory (src/infer/shared-tensors.ts):
 * the worker copies each into its own buffer, and the tensor goes back to the pool when its run has
 * returned. A frame must score exactly as it does through a plain, transferred tensor, also when
 * the buffers are reused frame after frame and when two frames are in flight at once.
 */
function frame(seed: number): Mat {
  const cv = opencv();
  const px = Buffer.alloc(640 * 512);
  let s = seed >>> 0;
  for (let i = 0; i < px.length; i++) {
    if (i % 64 === 0) s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    px[i] = 60 + ((s >>> 24) & 127);
  }
  return new cv.Mat(px, 512, 640, cv.CV_8UC1);
}

describe('shared input tensors', () => {
  let model: OpenModel;
  beforeAll(async () => {
    model = await openModel(defaultModelJson, { intraOpThreads: 1, precision: 'fp32' });
  });
  afterAll(async () => {
    await model?.close();
  });

  // The model's score and its whole defect map: frames that differ anywhere differ here.
  const score = (_m: OpenModel, outputs: Awaited<ReturnType<OpenModel['run']>>) => [...Array.from(outputs.pred_score!.data as Float32Array), ...Array.from(outputs.anomaly_map!.data as Float32Array)];
  async function plainScore(image: Mat): Promise<number[]> {
    const prepared = await model.prepareTensor(image);
    expect(prepared.tensor.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    return score(model, await model.run(prepared));
  }

  it('scores each frame as a plain tensor does, with the buffers reused', async () => {
    expect(model.tensors).toBeDefined();
    const images = [1, 2, 3, 4, 5].map(frame);
    const expected = [];
    for (const im of images) expected.push(await plainScore(im));
    expect(new Set(expected.map(String)).size).toBe(images.length);
    const made = model.tensors!.made;
    for (const [i, im] of images.entries()) {
      const prepared = await model.prepare(im);
      expect('tensor' in prepared && prepared.tensor.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(score(model, await model.run(prepared))).toEqual(expected[i]);
    }
    // One at a time: one buffer, taken and given back each frame.
    expect(model.tensors!.made - made).toBeLessThanOrEqual(1);
    for (const im of images) im.release();
  });

  it('keeps two frames in flight apart', async () => {
    const a = frame(11);
    const b = frame(12);
    const [ea, eb] = [await plainScore(a), await plainScore(b)];
    const [pa, pb] = [await model.prepare(a), await model.prepare(b)];
    const [ra, rb] = await Promise.all([model.run(pa), model.run(pb)]);
    expect(score(model, ra)).toEqual(ea);
    expect(score(model, rb)).toEqual(eb);
    a.release();
    b.release();
  });
});
