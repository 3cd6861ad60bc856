import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { errorCode, errorMessage, InspectdError } from '../errors.js';
import { modelFile, type LoadedModelSpec, type Precision } from '../model/spec.js';
import { batchOf, readOnnx, withDynamicBatch } from '../model/onnx/onnx-file.js';
import type { InferenceBackend, TensorMap } from './backend.js';
import { BatchedBackend } from './batch.js';
import { OnnxRuntimeBackend } from './onnxruntime/backend.js';
import { tensorRtAvailability, type TensorRtAvailability } from './tensorrt/availability.js';
import { TensorRtBackend } from './tensorrt/backend.js';
import { enginePathFor, sha256File } from './tensorrt/engine-cache.js';

/** What config asks of a model's runtime; 'auto' entries are decided here, on the machine at hand. */
export interface BackendRequest {
  backend: 'auto' | 'onnxruntime' | 'tensorrt';
  precision: 'auto' | Precision;
  /** Parallel sessions (each in its own worker). */
  workers: number;
  /** ONNX Runtime intra-op threads per session; 0 lets ORT use every core. */
  threads: number;
  /** Nice value for each inference thread (ONNX Runtime workers); undefined: inherited. */
  nice?: number;
  /** CPUs each inference thread is pinned to; undefined: inherited. */
  cpus?: readonly number[];
  /**
   * Frames per inference call: 1, a fixed count, or 'auto' (as many as cameras share the pool, taken
   * only when measured at start to pay off). Default 1.
   */
  batch?: number | 'auto';
  /** Cameras whose frames this pool judges: what 'auto' may put in one call. */
  sharedBy?: number;
}

/** What `batch: auto` measured at start: median ms per frame, alone and in a batch of `size`. */
export interface BatchProbe {
  size: number;
  singleMs: number;
  batchedMsPerFrame: number;
  taken: boolean;
}

/** What `precision: auto` measured at start: median ms per inference of each file. */
export interface PrecisionProbe {
  fp32Ms: number;
  int8Ms: number;
  runs: number;
}

export interface BackendPool {
  /** What the scheduler dispatches to: the sessions, or their slots when frames are batched. */
  backends: InferenceBackend[];
  /** One per real session (self-test runs once on each). */
  sessions: InferenceBackend[];
  precision: Precision;
  probe?: PrecisionProbe;
  /** Frames per call when batched, with each session's counts. */
  batch?: { maxBatch: number; batched: BatchedBackend[]; probe?: BatchProbe };
}

/**
 * The one place that chooses a backend and precision. `tensorrt` runs the model's engine through the
 * native addon, or fails with the reason it cannot run here (its code from the addon's availability
 * check: no addon, no CUDA, no GPU, no libnvinfer, no engine built for this GPU). `auto` takes
 * TensorRT when it can run and otherwise ONNX Runtime on the CPU, saying why in the log.
 */
export async function createBackendPool(loaded: LoadedModelSpec, req: BackendRequest, log?: Logger): Promise<BackendPool> {
  // A golden-template model's batch is the frame's candidate patches, a different count on every
  // frame: the TensorRT path builds fixed-batch engines, so `auto` takes ONNX Runtime for it.
  const templateOnAuto = loaded.spec.template !== undefined && req.backend === 'auto';
  if (req.backend !== 'onnxruntime' && !templateOnAuto) {
    const available = tensorRtAvailability();
    if (available.ok) {
      try {
        const pool = await createTensorRtPool(loaded, req, available);
        if ((req.batch ?? 1) !== 1) log?.warn({ model: loaded.spec.name }, 'inference.batch applies to ONNX Runtime only; TensorRT runs one frame per call');
        return pool;
      } catch (err) {
        if (req.backend === 'tensorrt') throw err;
        log?.warn({ event: 'backend.fallback', model: loaded.spec.name, code: errorCode(err), err: errorMessage(err) }, 'TensorRT cannot run this model here; using ONNX Runtime');
      }
    } else if (req.backend === 'tensorrt') {
      throw new InspectdError(available.code, `inference.backend: tensorrt cannot run here: ${available.reason}; ${available.fix}`);
    } else {
      log?.info({ event: 'backend.cpu', code: available.code, reason: available.reason, fix: available.fix }, 'TensorRT not used; ONNX Runtime on the CPU');
    }
  }
  let batch = req.batch === 'auto' ? Math.min(MAX_AUTO_BATCH, req.sharedBy ?? 1) : (req.batch ?? 1);
  if (loaded.spec.template && batch !== 1) {
    // Its input is already a batch (one frame's patches); stacking frames would mix parts.
    log?.info({ model: loaded.spec.name }, 'inference.batch: a golden-template model runs one frame (its patches) per call');
    batch = 1;
  }
  const open = (p: Precision) => {
    const { file } = modelFile(loaded, p);
    let bytes: Uint8Array | undefined;
    if (batch > 1) {
      try {
        bytes = batchableBytes(file);
      } catch (err) {
        if (req.batch !== 'auto') throw new InspectdError('INSPECTD_MODEL_LOAD', `inference.batch: ${req.batch}: ${errorMessage(err)}`, { cause: err });
        log?.info({ model: loaded.spec.name, reason: errorMessage(err) }, 'batch: auto: this model runs one frame per call');
        batch = 1;
      }
    }
    return OnnxRuntimeBackend.create({ file, ...(bytes ? { bytes } : {}), precision: p, intraOpThreads: req.threads, ...(req.nice === undefined ? {} : { nice: req.nice }), ...(req.cpus === undefined ? {} : { cpus: req.cpus }) });
  };
  const backends: InferenceBackend[] = [];
  try {
    let precision: Precision;
    let probe: PrecisionProbe | undefined;
    if (req.precision === 'auto' && loaded.spec.files.fp32 && loaded.spec.files.int8) {
      // INT8 is not always faster on a CPU (AVX2 without VNNI runs it at ~0.8x FP32 for small
      // convnets), so measure both on this machine rather than trust the file name.
      const fp32 = await open('fp32');
      const int8 = await open('int8').catch(async (err: unknown) => {
        await fp32.close();
        throw err;
      });
      const fp32Ms = await medianRunMs(fp32, loaded);
      const int8Ms = await medianRunMs(int8, loaded);
      precision = int8Ms <= fp32Ms ? 'int8' : 'fp32';
      probe = { fp32Ms, int8Ms, runs: PROBE_RUNS };
      const [keep, drop] = precision === 'int8' ? [int8, fp32] : [fp32, int8];
      await drop.close();
      backends.push(keep);
      log?.info({ event: 'precision.measured', model: loaded.spec.name, precision, fp32Ms: round(fp32Ms), int8Ms: round(int8Ms) }, 'precision: auto measured both files');
    } else {
      precision = req.precision === 'auto' ? loaded.spec.defaultPrecision : req.precision;
      backends.push(await open(precision));
    }
    while (backends.length < req.workers) backends.push(await open(precision));
    const pool: BackendPool = { backends, sessions: [...backends], precision, ...(probe ? { probe } : {}) };
    if (batch > 1) {
      let batchProbe: BatchProbe | undefined;
      if (req.batch === 'auto') {
        // On a CPU a batch rarely beats single runs (measured in bench/RESULTS.md); on a GPU it usually does.
        const singleMs = await medianRunMs(backends[0]!, loaded, 1);
        const batchedMsPerFrame = (await medianRunMs(backends[0]!, loaded, batch)) / batch;
        batchProbe = { size: batch, singleMs, batchedMsPerFrame, taken: batchedMsPerFrame <= singleMs * AUTO_BATCH_GAIN };
        log?.info({ model: loaded.spec.name, ...batchProbe, singleMs: round(singleMs), batchedMsPerFrame: round(batchedMsPerFrame) }, 'batch: auto measured single and batched runs');
      }
      if (!batchProbe || batchProbe.taken) {
        const batched = backends.map((b) => new BatchedBackend(b, batch));
        pool.backends = batched.flatMap((b) => b.slots);
        pool.batch = { maxBatch: batch, batched, ...(batchProbe ? { probe: batchProbe } : {}) };
      } else {
        pool.batch = { maxBatch: 1, batched: [], probe: batchProbe };
      }
    }
    return pool;
  } catch (err) {
    await Promise.all(backends.map((b) => b.close()));
    throw err;
  }
}

/**
 * TensorRT: one engine per model file, GPU and TensorRT version, built beforehand with
 * `inspectd build-engine` (building takes minutes, never at start). INT8 engines come from the Q/DQ
 * file; `auto` precision takes it. Has not run on real TensorRT (see docs/gpu.md).
 */
async function createTensorRtPool(loaded: LoadedModelSpec, req: BackendRequest, available: Extract<TensorRtAvailability, { ok: true }>): Promise<BackendPool> {
  const precision: Precision = req.precision === 'auto' ? (loaded.spec.files.int8 ? 'int8' : 'fp32') : req.precision;
  const { file } = modelFile(loaded, precision);
  const key = {
    gpuName: available.device.name,
    computeCapability: available.device.computeCapability,
    tensorRtVersion: available.libraryVersion,
    modelSha256: sha256File(file),
    precision,
  };
  // One backend with as many execution contexts as workers: frames in flight share the engine.
  const backend = await TensorRtBackend.create({ onnxFile: file, enginePath: enginePathFor(file, key), input: loaded.spec.input, precision, slots: req.workers });
  return { backends: [backend], sessions: [backend], precision };
}

const PROBE_RUNS = 15;
/** 'auto' batches at most this many frames; past it a CPU gains nothing and each frame waits longer. */
const MAX_AUTO_BATCH = 8;
/** 'auto' takes batching only when a frame costs at most this share of a single run. */
const AUTO_BATCH_GAIN = 0.9;

/**
 * The model's bytes with a dynamic batch axis; a model exported with one is used as it is.
 * Throws when the graph could depend on a batch of 1.
 */
function batchableBytes(file: string): Uint8Array | undefined {
  const model = readOnnx(file);
  if (batchOf(model) === 'dynamic') return undefined;
  return withDynamicBatch(model, file);
}

/** Median of a few runs after two warm-ups, on a zero tensor of the model's input shape. */
async function medianRunMs(backend: InferenceBackend, loaded: LoadedModelSpec, frames = 1): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < PROBE_RUNS + 2; i++) {
    const t0 = performance.now();
    await backend.run(zeroInput(loaded, frames));
    if (i >= 2) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function zeroInput(loaded: LoadedModelSpec, frames: number): TensorMap {
  const { input } = loaded.spec;
  const c = input.colorOrder === 'GRAY' ? 1 : 3;
  const dims = input.layout === 'NCHW' ? [frames, c, input.height, input.width] : [frames, input.height, input.width, c];
  return { [input.name]: { type: 'float32', dims, data: new Float32Array(frames * c * input.height * input.width) } };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
