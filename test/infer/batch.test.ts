import pino from 'pino';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InferenceBackend, TensorMap } from '../../src/infer/backend.js';
import { BatchedBackend } from '../../src/infer/batch.js';
import { OnnxRuntimeBackend } from '../../src/infer/onnxruntime/backend.js';
import { cameraInspection } from '../../src/inspect/camera.js';
import { openModel, type OpenModel } from '../../src/inspect/model.js';
import { batchOf, decodeOnnx, encodeOnnx, withDynamicBatch } from '../../src/model/onnx/onnx-file.js';
import { loadModelSpec, modelFile } from '../../src/model/spec.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { Scheduler, type VerdictSink } from '../../src/schedule/scheduler.js';
import type { Frame } from '../../src/source/frame.js';
import { renderPart } from '../../src/source/synthetic/render.js';
import type { Decision } from '../../src/verdict/types.js';
import { defaultModelJson } from '../helpers/model.js';

const loaded = loadModelSpec(defaultModelJson);
const int8File = modelFile(loaded, 'int8').file;

function partTensor(index: number): TensorMap {
  const part = renderPart({ width: 320, height: 256, channels: 1, defectRate: 0.5, seed: 7, index });
  const data = Float32Array.from(part.pixels, (v) => (v / 255 - 0.5) / 0.5);
  return { input: { type: 'float32', dims: [1, 1, 256, 320], data } };
}

describe('the ONNX file as data', () => {
  it('decodes and re-encodes the shipped models byte for byte, and reads their fixed batch of 1', () => {
    for (const p of ['fp32', 'int8'] as const) {
      const bytes = readFileSync(modelFile(loaded, p).file);
      const model = decodeOnnx(bytes);
      expect(Buffer.compare(Buffer.from(encodeOnnx(model)), bytes)).toBe(0);
      expect(batchOf(model)).toBe(1);
      expect(batchOf(decodeOnnx(withDynamicBatch(model)))).toBe('dynamic');
    }
  });

  it('refuses to re-batch a graph whose operators could depend on a batch of 1, naming them', () => {
    const model = decodeOnnx(readFileSync(int8File));
    model.graph.node.push({ opType: 'Reshape', input: ['x', 'shape'], attribute: [] });
    expect(() => withDynamicBatch(model, 'the test graph')).toThrow(/cannot be batched: its graph has Reshape/);
  });
});

describe('frames of several cameras in one call', () => {
  let single: InferenceBackend;
  let batchedInner: InferenceBackend;
  beforeAll(async () => {
    single = await OnnxRuntimeBackend.create({ file: int8File, precision: 'int8', intraOpThreads: 1 });
    batchedInner = await OnnxRuntimeBackend.create({
      file: int8File,
      bytes: withDynamicBatch(decodeOnnx(readFileSync(int8File))),
      precision: 'int8',
      intraOpThreads: 1,
    });
  });
  afterAll(async () => {
    await single?.close();
    await batchedInner?.close();
  });

  it('four frames given in one turn run as one call, each gets exactly its own answer', async () => {
    const batched = new BatchedBackend(batchedInner, 4);
    const alone: TensorMap[] = [];
    for (let i = 0; i < 4; i++) alone.push(await single.run(partTensor(i)));
    const together = await Promise.all(batched.slots.map((slot, i) => slot.run(partTensor(i))));
    expect(batched.stats).toEqual({ runs: 1, frames: 4, largest: 4 });
    const scores = alone.map((o) => (o.pred_score!.data as Float32Array)[0]!);
    // Defective and good parts among them, so a mix-up between rows would show.
    expect(new Set(scores.map((s) => s > loaded.spec.thresholds.default)).size).toBe(2);
    together.forEach((o, i) => {
      expect(o.pred_score!.dims).toEqual([1, 1]);
      expect(o.anomaly_map!.dims).toEqual(alone[i]!.anomaly_map!.dims);
      expect((o.pred_score!.data as Float32Array)[0]).toBeCloseTo(scores[i]!, 5);
      const a = alone[i]!.anomaly_map!.data as Float32Array;
      const b = o.anomaly_map!.data as Float32Array;
      let worst = 0;
      for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k]! - b[k]!));
      expect(worst).toBeLessThan(1e-5);
    });
  });

  it('a frame alone on an idle backend runs alone at once; frames that come while it runs go together next', async () => {
    const batched = new BatchedBackend(batchedInner, 4);
    const first = batched.slots[0]!.run(partTensor(10));
    await new Promise((r) => setImmediate(r));
    const rest = batched.slots.slice(1).map((s, i) => s.run(partTensor(11 + i)));
    await Promise.all([first, ...rest]);
    expect(batched.stats).toEqual({ runs: 2, frames: 4, largest: 3 });
  });
});

describe('a station with batch: 4', () => {
  let model: OpenModel;
  afterAll(async () => {
    await model?.close();
  });

  it('judges four cameras through one session with the verdicts single runs give', async () => {
    model = await openModel(defaultModelJson, { precision: 'int8', backend: 'onnxruntime', batch: 4, sharedBy: 4, intraOpThreads: 1 });
    expect(model.batch?.maxBatch).toBe(4);
    expect(model.backends).toHaveLength(4);
    const reference = await openModel(defaultModelJson, { precision: 'int8', backend: 'onnxruntime', intraOpThreads: 1 });
    const rules = { threshold: loaded.spec.thresholds.default, perClass: {}, minDefectAreaPx: 0, ignore: [] };
    const given = new Map<string, Decision>();
    const sink: VerdictSink = {
      decided: (f, d) => {
        given.set(`${f.camera}/${f.frameId}`, d);
        return given.size;
      },
      late: () => {},
    };
    const scheduler = new Scheduler(model.backends, sink, { maxQueue: 8 }, pino({ level: 'silent' }));
    const cams = ['a', 'b', 'c', 'd'].map((c) => cameraInspection(c, model, rules));
    const cv = opencv();
    const image = (i: number) => {
      const part = renderPart({ width: 640, height: 512, channels: 1, defectRate: 0.4, seed: 3, index: i });
      return new cv.Mat(Buffer.from(part.pixels), part.height, part.width, cv.CV_8UC1);
    };
    // Twelve rounds, the four cameras' frames at the same instant (one trigger for the four).
    for (let round = 0; round < 12; round++) {
      cams.forEach((cam, k) => {
        const frame: Frame = { camera: cam.camera, frameId: round, capturedAt: Date.now(), partId: null, image: image(round * 4 + k) };
        // A deadline far off: this test is about which answer each frame gets, not when.
        scheduler.submit(frame, 15_000, cam);
      });
      await new Promise((r) => setTimeout(r, 40));
    }
    expect(await scheduler.settled(30_000)).toBe(true);
    expect(scheduler.stats.timeouts).toBe(0);
    expect(given.size).toBe(48);
    const stats = model.batch!.batched[0]!.stats;
    expect(stats.frames).toBe(48);
    expect(stats.largest).toBeGreaterThan(1);
    const refCam = cameraInspection('ref', reference, rules);
    const { inspectImage } = await import('../../src/inspect/camera.js');
    for (let round = 0; round < 12; round++) {
      for (let k = 0; k < 4; k++) {
        const want = await inspectImage(refCam, image(round * 4 + k));
        const got = given.get(`${cams[k]!.camera}/${round}`)!;
        expect(got.verdict).toBe(want.verdict);
        expect(got.score).toBeCloseTo(want.score!, 5);
      }
    }
    await reference.close();
  });

  it('batch: auto measures single against batched runs at start and says which it took', async () => {
    const auto = await openModel(defaultModelJson, { precision: 'int8', backend: 'onnxruntime', batch: 'auto', sharedBy: 3, intraOpThreads: 1, skipSelfTest: true });
    try {
      const probe = auto.batch!.probe!;
      expect(probe.size).toBe(3);
      expect(probe.singleMs).toBeGreaterThan(0);
      expect(probe.batchedMsPerFrame).toBeGreaterThan(0);
      expect(probe.taken).toBe(probe.batchedMsPerFrame <= probe.singleMs * 0.9);
      expect(auto.backends).toHaveLength(probe.taken ? 3 : 1);
    } finally {
      await auto.close();
    }
  });
});
