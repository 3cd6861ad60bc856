import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VerdictReference } from '../../bench/gpu/make-verdict-references.js';
import { createDecoder } from '../../src/decode/index.js';
import type { BackendInfo, InferenceBackend, RawFrame, TensorMap } from '../../src/infer/backend.js';
import { GpuFramePipeline } from '../../src/infer/tensorrt/frame-pipeline.js';
import { cameraInspection } from '../../src/inspect/camera.js';
import { framePrepared } from '../../src/inspect/model-input.js';
import { wrapModel } from '../../src/inspect/model.js';
import { loadModelSpec, modelFile, type LoadedModelSpec } from '../../src/model/spec.js';
import type { Decision } from '../../src/verdict/types.js';
import { GPU, writeResult } from './helpers.js';
import { OrtPeer } from './ort-peer.js';

/**
 * The GPU path of the chain against its CPU path, verdict for verdict, on real models and images:
 * the frame's pixels go to the CUDA preprocessing (the kernel the TensorRT backend runs, into a
 * pinned output instead of an engine: TensorRT is not on the GPU machine), the real ONNX model
 * runs on that tensor in ONNX Runtime 1.30 on the CPU (that machine's Python package, the version
 * the daemon uses: bench/gpu/ort-peer.py), then the chain's decoder and verdict rules. The CPU
 * verdicts were made on the development machine by the same chain with OpenCV preprocessing
 * (bench/gpu/make-verdict-references.ts). The tensors are identical (test/gpu/preprocess.test.ts),
 * so what can differ is ONNX Runtime's float arithmetic on another CPU: scores within 1e-3 and box
 * corners within 0.5 px, same verdicts, same labels, same number of defects.
 */
const SCORE_TOLERANCE = 1e-3;
const BOX_TOLERANCE_PX = 0.5;

/** The CUDA kernel's tensor, then ONNX Runtime: what the TensorRT backend does, with ORT in TensorRT's place. */
class CudaPreprocessedOnnx implements InferenceBackend {
  private readonly pipelines = new Map<string, GpuFramePipeline>();
  frames = 0;
  readonly info: BackendInfo;
  constructor(
    private readonly ort: OrtPeer,
    private readonly loaded: LoadedModelSpec,
  ) {
    this.info = { name: 'cuda-preprocessing + onnxruntime', precision: loaded.spec.defaultPrecision, inputNames: [loaded.spec.input.name], outputNames: [] };
  }
  run(): Promise<TensorMap> {
    return Promise.reject(new Error('this backend takes frames; the chain handed it a tensor'));
  }
  async runFrame(frame: RawFrame): Promise<TensorMap> {
    const key = `${frame.width}x${frame.height}:${frame.format}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = GpuFramePipeline.open({ input: this.loaded.spec.input, frame: { width: frame.width, height: frame.height, format: frame.format }, slots: 2 });
      this.pipelines.set(key, pipeline);
    }
    this.frames++;
    const dims = pipeline.plan.dims;
    const tensor = await pipeline.runFrame(frame.pixels, ({ views }) => new Float32Array(views[0]!.slice().buffer));
    return this.ort.run(this.loaded.spec.input.name, dims, tensor);
  }
  async close(): Promise<void> {
    await Promise.all([...this.pipelines.values()].map((p) => p.close()));
    await this.ort.close();
  }
}

function compare(got: Decision, expected: Decision): { scoreDiff: number; boxDiff: number } {
  expect(got.verdict).toBe(expected.verdict);
  expect(got.error).toBeUndefined();
  expect(got.defects.map((d) => d.label)).toEqual(expected.defects.map((d) => d.label));
  let scoreDiff = got.score === null || expected.score === null ? (got.score === expected.score ? 0 : Infinity) : Math.abs(got.score - expected.score);
  let boxDiff = 0;
  got.defects.forEach((d, i) => {
    const e = expected.defects[i]!;
    scoreDiff = Math.max(scoreDiff, Math.abs(d.score - e.score));
    expect(Boolean(d.box)).toBe(Boolean(e.box));
    if (d.box && e.box) d.box.forEach((v, k) => (boxDiff = Math.max(boxDiff, Math.abs(v - e.box![k]!))));
  });
  return { scoreDiff, boxDiff };
}

describe.runIf(GPU)('the chain on the GPU path gives the CPU path\'s verdicts', () => {
  it('real models on real frames (letterboxed colour, Bayer RG8, mono): same verdicts, labels and boxes', async () => {
    const dir = resolve(process.env.INSPECTD_GPU_REFS ?? '.carry/gpu-refs');
    const refs = JSON.parse(readFileSync(join(dir, 'verdicts.json'), 'utf8')) as VerdictReference[];
    const blob = readFileSync(join(dir, 'verdicts.bin'));
    expect(refs.length).toBeGreaterThanOrEqual(13);
    const rows: Array<Record<string, unknown>> = [];
    for (const model of [...new Set(refs.map((r) => r.model))]) {
      const loaded = loadModelSpec(model);
      const ort = await OrtPeer.open(modelFile(loaded).file);
      const backend = new CudaPreprocessedOnnx(ort, loaded);
      try {
        const rules = { threshold: loaded.spec.thresholds.default, perClass: {}, minDefectAreaPx: 0, ignore: [] };
        const inspection = cameraInspection('cam1', wrapModel(loaded, [backend], createDecoder(loaded.spec)), rules);
        expect(inspection.model.takesFrames).toBe(true);
        for (const ref of refs.filter((r) => r.model === model)) {
          const pixels = new Uint8Array(blob.buffer, blob.byteOffset + ref.offset, ref.bytes);
          const prepared = framePrepared({ pixels, width: ref.width, height: ref.height, format: ref.format }, loaded.spec.input);
          const got = inspection.judge(await inspection.infer(prepared, backend), prepared);
          const diff = compare(got, ref.decision);
          rows.push({ model: loaded.spec.name, runtime: ort.version, frame: ref.frame, format: ref.format, verdict: got.verdict, defects: got.defects.length, cpuScore: ref.decision.score, gpuScore: got.score, ...diff });
          expect(diff.scoreDiff, `${ref.frame} score`).toBeLessThanOrEqual(SCORE_TOLERANCE);
          expect(diff.boxDiff, `${ref.frame} boxes`).toBeLessThanOrEqual(BOX_TOLERANCE_PX);
        }
        expect(backend.frames).toBe(refs.filter((r) => r.model === model).length);
      } finally {
        await backend.close();
      }
    }
    writeResult('frame-verdicts.json', { tolerance: { score: SCORE_TOLERANCE, boxPx: BOX_TOLERANCE_PX }, rows });
    console.table(rows);
  }, 300_000);
});
