import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { errorCode, errorMessage, InspectdError } from '../errors.js';
import { modelFile, type LoadedModelSpec, type Precision } from '../model/spec.js';
import type { InferenceBackend, TensorMap } from './backend.js';
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
}

/** What `precision: auto` measured at start: median ms per inference of each file. */
export interface PrecisionProbe {
  fp32Ms: number;
  int8Ms: number;
  runs: number;
}

export interface BackendPool {
  backends: InferenceBackend[];
  precision: Precision;
  probe?: PrecisionProbe;
}

/**
 * The one place that chooses a backend and precision. `tensorrt` runs the model's engine through the
 * native addon, or fails with the reason it cannot run here (its code from the addon's availability
 * check: no addon, no CUDA, no GPU, no libnvinfer, no engine built for this GPU). `auto` takes
 * TensorRT when it can run and otherwise ONNX Runtime on the CPU, saying why in the log.
 */
export async function createBackendPool(loaded: LoadedModelSpec, req: BackendRequest, log?: Logger): Promise<BackendPool> {
  if (req.backend !== 'onnxruntime') {
    const available = tensorRtAvailability();
    if (available.ok) {
      try {
        return await createTensorRtPool(loaded, req, available);
      } catch (err) {
        if (req.backend === 'tensorrt') throw err;
        log?.warn({ model: loaded.spec.name, code: errorCode(err), err: errorMessage(err) }, 'TensorRT cannot run this model here; using ONNX Runtime');
      }
    } else if (req.backend === 'tensorrt') {
      throw new InspectdError(available.code, `inference.backend: tensorrt cannot run here: ${available.reason}; ${available.fix}`);
    } else {
      log?.info({ code: available.code, reason: available.reason, fix: available.fix }, 'TensorRT not used; ONNX Runtime on the CPU');
    }
  }
  const open = (p: Precision) => {
    const { file } = modelFile(loaded, p);
    return OnnxRuntimeBackend.create({ file, precision: p, intraOpThreads: req.threads });
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
      log?.info({ model: loaded.spec.name, precision, fp32Ms: round(fp32Ms), int8Ms: round(int8Ms) }, 'precision: auto measured both files');
    } else {
      precision = req.precision === 'auto' ? loaded.spec.defaultPrecision : req.precision;
      backends.push(await open(precision));
    }
    while (backends.length < req.workers) backends.push(await open(precision));
    return { backends, precision, ...(probe ? { probe } : {}) };
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
  return { backends: [backend], precision };
}

const PROBE_RUNS = 15;

/** Median of a few runs after two warm-ups, on a zero tensor of the model's input shape. */
async function medianRunMs(backend: InferenceBackend, loaded: LoadedModelSpec): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < PROBE_RUNS + 2; i++) {
    const t0 = performance.now();
    await backend.run(zeroInput(loaded));
    if (i >= 2) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function zeroInput(loaded: LoadedModelSpec): TensorMap {
  const { input } = loaded.spec;
  const c = input.colorOrder === 'GRAY' ? 1 : 3;
  const dims = input.layout === 'NCHW' ? [1, c, input.height, input.width] : [1, input.height, input.width, c];
  return { [input.name]: { type: 'float32', dims, data: new Float32Array(c * input.height * input.width) } };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
