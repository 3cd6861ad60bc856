import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/decode/index.js';
import type { BackendInfo, InferenceBackend, RawFrame, TensorMap } from '../../src/infer/backend.js';
import { OnnxRuntimeBackend } from '../../src/infer/onnxruntime/backend.js';
import { TensorRtBackend } from '../../src/infer/tensorrt/backend.js';
import { planPreprocess } from '../../src/infer/tensorrt/plan.js';
import { cameraInspection, inspectImage } from '../../src/inspect/camera.js';
import { isPreparedFrame } from '../../src/inspect/model-input.js';
import { toInputs, wrapModel } from '../../src/inspect/model.js';
import { loadModelSpec, modelFile, type InputSpec, type LoadedModelSpec } from '../../src/model/spec.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { preprocess } from '../../src/preprocess/preprocess.js';
import { Scheduler } from '../../src/schedule/scheduler.js';
import { readImage } from '../../src/source/read-image.js';
import type { Decision } from '../../src/verdict/types.js';
import { fixtureModel, sample } from '../decode/real-models.js';
import { loaded as syntheticLine, recordingSink, silentLog, syntheticFrame, warmParts } from '../helpers/scheduler.js';

/**
 * The chain (src/inspect/) asks the model's backends whether they preprocess frames themselves
 * and, when they do, hands them the frame's pixels instead of a tensor made by OpenCV; the decode
 * then maps boxes back through the same letterbox geometry. TensorRT, the real such backend, cannot
 * run here (no CUDA driver: test/gpu/ runs its CUDA preprocessing on the GPU machine), so the
 * backend that takes frames here is ONNX Runtime behind OpenCV preprocessing of the pixels it is
 * handed. It keeps what it was given, and discards its own transform: boxes come out right only if
 * the chain's geometry is.
 */
class FrameTakingOnnx implements InferenceBackend {
  readonly frames: RawFrame[] = [];
  tensorRuns = 0;
  constructor(
    private readonly ort: InferenceBackend,
    private readonly loaded: LoadedModelSpec,
  ) {}
  get info(): BackendInfo {
    return { ...this.ort.info, name: 'frame-taking onnxruntime' };
  }
  run(inputs: TensorMap): Promise<TensorMap> {
    this.tensorRuns++;
    return this.ort.run(inputs);
  }
  async runFrame(frame: RawFrame): Promise<TensorMap> {
    this.frames.push({ ...frame, pixels: frame.pixels.slice() });
    const cv = opencv();
    const mat = new cv.Mat(Buffer.from(frame.pixels), frame.height, frame.width, frame.format === 'mono8' ? cv.CV_8UC1 : cv.CV_8UC3);
    try {
      return await this.ort.run(toInputs(this.loaded.spec, await preprocess(mat, this.loaded.spec.input)));
    } finally {
      mat.release();
    }
  }
  close(): Promise<void> {
    return this.ort.close();
  }
}

const openOrt = (loaded: LoadedModelSpec) => OnnxRuntimeBackend.create({ file: modelFile(loaded).file, precision: loaded.spec.defaultPrecision, intraOpThreads: 1 });
const rulesOf = (loaded: LoadedModelSpec) => ({ threshold: loaded.spec.thresholds.default, perClass: {}, minDefectAreaPx: 0, ignore: [] });

describe('the chain hands a backend that preprocesses itself the frame, not a tensor', () => {
  const coco = loadModelSpec(fixtureModel('coco-yolov8n-int8-640'));
  let ort: InferenceBackend;
  let frameTaking: FrameTakingOnnx;
  beforeAll(async () => {
    ort = await openOrt(coco);
    frameTaking = new FrameTakingOnnx(await openOrt(coco), coco);
  });
  afterAll(async () => {
    await ort?.close();
    await frameTaking?.close();
  });

  it('ONNX Runtime sessions get the OpenCV-made tensor', async () => {
    const model = wrapModel(coco, [ort], createDecoder(coco.spec));
    expect(model.takesFrames).toBe(false);
    const image = await readImage(sample('coco-yolov8n-int8-640', 'bus.jpg'));
    try {
      const prepared = await model.prepare(image);
      expect(isPreparedFrame(prepared)).toBe(false);
      expect('tensor' in prepared && prepared.dims).toEqual([1, 3, 640, 640]);
    } finally {
      image.release();
    }
  });

  it('TensorRT declares that it takes frames, so a pool of it gets them', () => {
    expect(typeof TensorRtBackend.prototype.runFrame).toBe('function');
  });

  it('gets each letterboxed colour frame as its own BGR pixels, and its boxes land where the CPU path puts them', async () => {
    const cpu = cameraInspection('cam1', wrapModel(coco, [ort], createDecoder(coco.spec)), rulesOf(coco));
    const gpuLike = cameraInspection('cam1', wrapModel(coco, [frameTaking], createDecoder(coco.spec)), rulesOf(coco));
    expect(gpuLike.model.takesFrames).toBe(true);
    // 810x1080 and 1280x720: letterboxed with side and top/bottom pads, so a wrong transform moves every box.
    for (const file of ['bus.jpg', 'zidane.jpg']) {
      const image = await readImage(sample('coco-yolov8n-int8-640', file));
      try {
        const before = frameTaking.frames.length;
        const expected = await inspectImage(cpu, image);
        const got = await inspectImage(gpuLike, image);
        expect(frameTaking.frames.length).toBe(before + 1);
        const handed = frameTaking.frames.at(-1)!;
        expect({ width: handed.width, height: handed.height, format: handed.format }).toEqual({ width: image.cols, height: image.rows, format: 'bgr8' });
        expect(Buffer.from(handed.pixels).equals(image.getData())).toBe(true);
        expect(expected.defects.length, file).toBeGreaterThanOrEqual(2);
        expect(got, file).toEqual(expected);
      } finally {
        image.release();
      }
    }
    expect(frameTaking.tensorRuns).toBe(0);
  });

  it('a pool that mixes both takes tensors: any frame may run on any session', async () => {
    const model = wrapModel(coco, [frameTaking, ort], createDecoder(coco.spec));
    expect(model.takesFrames).toBe(false);
    const image = await readImage(sample('coco-yolov8n-int8-640', 'zidane.jpg'));
    try {
      const runs = frameTaking.tensorRuns;
      const frames = frameTaking.frames.length;
      await model.inferImage(image, frameTaking);
      expect(frameTaking.tensorRuns).toBe(runs + 1);
      expect(frameTaking.frames.length).toBe(frames);
    } finally {
      image.release();
    }
  });
});

describe('through the scheduler, as the daemon runs frames', () => {
  it('mono frames of the synthetic line reach a frame-taking backend as mono8 pixels, with the verdicts of the CPU path', async () => {
    warmParts();
    const ort = await openOrt(syntheticLine);
    const frameTaking = new FrameTakingOnnx(await openOrt(syntheticLine), syntheticLine);
    try {
      const verdicts = async (backend: InferenceBackend): Promise<Decision[]> => {
        const { sink, given } = recordingSink();
        const scheduler = new Scheduler([backend], sink, { maxQueue: 16 }, silentLog);
        const inspection = cameraInspection('cam1', wrapModel(syntheticLine, [backend], createDecoder(syntheticLine.spec)), rulesOf(syntheticLine));
        // A deadline no run here misses: the comparison is of verdicts, not of timing.
        for (let i = 0; i < 8; i++) scheduler.submit(syntheticFrame(i), 60_000, inspection);
        expect(await scheduler.settled(60_000)).toBe(true);
        return given.sort((a, b) => a.frame.frameId - b.frame.frameId).map((g) => g.decision);
      };
      const expected = await verdicts(ort);
      const got = await verdicts(frameTaking);
      expect(expected.map((d) => d.verdict)).toContain('FAIL');
      expect(expected.map((d) => d.verdict)).toContain('PASS');
      expect(got).toEqual(expected);
      expect(frameTaking.tensorRuns).toBe(0);
      expect(frameTaking.frames.map((f) => `${f.width}x${f.height} ${f.format}`)).toEqual(Array(8).fill('640x512 mono8'));
    } finally {
      await ort.close();
      await frameTaking.close();
    }
  });
});

describe('one letterbox and stretch geometry for the CPU and GPU paths', () => {
  const cases: Array<[string, Partial<InputSpec>, number, number]> = [
    ['letterbox, wide frame', { width: 640, height: 640, resize: 'letterbox' }, 1920, 1200],
    ['letterbox, tall frame', { width: 640, height: 640, resize: 'letterbox' }, 810, 1080],
    ['letterbox, odd pad', { width: 320, height: 320, resize: 'letterbox' }, 333, 201],
    ['letterbox, non-square input', { width: 288, height: 400, resize: 'letterbox' }, 2448, 2048],
    ['stretch, shrinking', { width: 320, height: 256, resize: 'stretch' }, 640, 512],
    ['stretch, growing', { width: 640, height: 640, resize: 'stretch' }, 334, 252],
  ];
  it.each(cases)('%s: the GPU plan maps boxes back exactly as OpenCV preprocessing does', async (_name, change, w, h) => {
    const input: InputSpec = { ...syntheticLine.spec.input, colorOrder: 'RGB', mean: [0], std: [1], ...change };
    const cv = opencv();
    const mat = new cv.Mat(h, w, cv.CV_8UC3, [90, 120, 150]);
    try {
      const cpu = await preprocess(mat, input);
      expect(planPreprocess(input, { width: w, height: h, format: 'bgr8' }).transform).toEqual(cpu.transform);
    } finally {
      mat.release();
    }
  });
});
