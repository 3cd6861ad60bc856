import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { createDecoder } from '../decode/index.js';
import type { Decoded, Decoder } from '../decode/decoder.js';
import { InspectdError, ModelLoadError, ModelOutputRangeError } from '../errors.js';
import type { InferenceBackend, TensorMap } from '../infer/backend.js';
import { SharedTensorPool } from '../infer/shared-tensors.js';
import { createBackendPool, type BackendPool, type BackendRequest, type PrecisionProbe } from '../infer/select.js';
import { inputChannels, loadModelSpec, type LoadedModelSpec, type ModelSpec, type Precision } from '../model/spec.js';
import { opencv, type Mat } from '../preprocess/opencv.js';
import { preprocess, type PreparedInput } from '../preprocess/preprocess.js';
import { readImage } from '../source/read-image.js';
import type { ModelInfo } from '../verdict/types.js';
import { isPreparedFrame, preparedFrame, type ModelInput } from './model-input.js';

export interface OpenModelOptions {
  precision?: Precision | 'auto';
  backend?: BackendRequest['backend'];
  /** Parallel sessions; each cameras' frames may run on any of them. Default 1. */
  workers?: number;
  /** ORT intra-op threads per session; 0 (default) lets ORT use every core. */
  intraOpThreads?: number;
  /** Nice value of each inference thread (config inference.nice); undefined leaves it inherited. */
  nice?: number;
  /** CPUs each inference thread is pinned to (config inference.cpus); undefined leaves it inherited. */
  cpus?: readonly number[];
  /** Frames per inference call (src/infer/select.ts); default 1. */
  batch?: number | 'auto';
  /** Cameras that share this model's pool (what batch: auto may put in one call). */
  sharedBy?: number;
  /** Skip the warm-up and self-test runs (tools that only need the spec and backend). */
  skipSelfTest?: boolean;
  log?: Logger;
}

export interface InferTimings {
  preMs: number;
  inferMs: number;
  decodeMs: number;
}

/**
 * A model ready to judge frames: spec, backend pool and decoder checked against each other and
 * proven on a grey frame and the spec's self-test images. Its stages stay separately callable so
 * the scheduler owns the deadline between them; every user (daemon, self-test, `infer`, `eval`,
 * `bench`) goes through these same functions, so a model is judged the same way everywhere.
 */
export interface OpenModel {
  readonly spec: ModelSpec;
  readonly loaded: LoadedModelSpec;
  readonly info: ModelInfo;
  /** The pool: one session per worker, shared by every camera that uses this model. */
  readonly backends: readonly InferenceBackend[];
  /** The first session (tools that run one image at a time). */
  readonly backend: InferenceBackend;
  readonly decoder: Decoder;
  /** What `precision: auto` measured, when it ran. */
  readonly probe?: PrecisionProbe;
  /** Set when frames of several cameras may share one call (and what `batch: auto` measured). */
  readonly batch?: BackendPool['batch'];
  /**
   * Every backend of the pool preprocesses frames itself (TensorRT: the CUDA kernel), so prepare()
   * hands on the frame's pixels and the backend makes the tensor; otherwise OpenCV makes it here.
   */
  readonly takesFrames: boolean;
  /** The reused input tensors prepare() fills, when every backend reads shared ones (info.sharedInputs). */
  readonly tensors?: SharedTensorPool;
  /**
   * Frame → what the pool's backends take: the frame itself when they preprocess it
   * (takesFrames), else the OpenCV-made tensor. Either way with the same transform for decode.
   */
  prepare(image: Mat): Promise<ModelInput>;
  /** Frame → tensor on the CPU (OpenCV), whatever the backend. Large frames are resized off the main thread. */
  prepareTensor(image: Mat): Promise<PreparedInput>;
  toInputs(prepared: PreparedInput): TensorMap;
  /**
   * One inference on `backend` (default: the first session): the frame through runFrame, or the
   * tensor through run, whose buffer is then transferred to the worker and detached, or (a shared
   * tensor) given back to `tensors` for another frame: either way the input is spent.
   */
  run(input: ModelInput, backend?: InferenceBackend): Promise<TensorMap>;
  decode(outputs: TensorMap, input: ModelInput): Decoded;
  /** prepare → run → decode on one session; a prepared tensor's buffer is transferred and detached. */
  inferImage(image: Mat, backend?: InferenceBackend): Promise<{ decoded: Decoded; timings: InferTimings }>;
  close(): Promise<void>;
}

export async function openModel(specPath: string, opts: OpenModelOptions = {}): Promise<OpenModel> {
  const loaded = loadModelSpec(specPath);
  const decoder = createDecoder(loaded.spec);
  const pool = await createBackendPool(
    loaded,
    {
      backend: opts.backend ?? 'auto',
      precision: opts.precision ?? loaded.spec.defaultPrecision,
      workers: opts.workers ?? 1,
      threads: opts.intraOpThreads ?? 0,
      ...(opts.nice === undefined ? {} : { nice: opts.nice }),
      ...(opts.cpus === undefined ? {} : { cpus: opts.cpus }),
      batch: opts.batch ?? 1,
      sharedBy: opts.sharedBy ?? 1,
    },
    opts.log,
  );
  const model = wrapModel(loaded, pool.backends, decoder, pool.probe, pool.batch);
  try {
    // Each real session once: a batched session's slots are one session.
    for (const backend of pool.sessions) {
      checkModelIo(loaded, backend, decoder);
      if (!opts.skipSelfTest) await selfTest(model, backend);
    }
  } catch (err) {
    await model.close();
    throw err;
  }
  return model;
}

/** An OpenModel over given backends (tests may inject a slow or failing one). */
export function wrapModel(loaded: LoadedModelSpec, backends: readonly InferenceBackend[], decoder: Decoder, probe?: PrecisionProbe, batch?: BackendPool['batch']): OpenModel {
  const spec = loaded.spec;
  const first = backends[0];
  if (!first) throw new InspectdError('INSPECTD_BACKEND_UNAVAILABLE', `model ${spec.name}: no inference backend`);
  const info: ModelInfo = { name: spec.name, version: spec.version, precision: first.info.precision, backend: first.info.name };
  // A frame may run on any session of the pool, so it goes as pixels only when all of them take pixels.
  const takesFrames = backends.every((b) => typeof b.runFrame === 'function');
  // Tensors in shared memory, reused, when every session of the pool reads them in place.
  const tensors = !takesFrames && backends.every((b) => b.info.sharedInputs) ? new SharedTensorPool() : undefined;
  const model: OpenModel = {
    spec,
    loaded,
    info,
    backends,
    backend: first,
    decoder,
    ...(probe ? { probe } : {}),
    ...(batch ? { batch } : {}),
    takesFrames,
    ...(tensors ? { tensors } : {}),
    prepare: (image) => (takesFrames ? preparedFrame(image, spec.input) : preprocess(image, spec.input, tensors && ((n) => tensors.take(n)))),
    prepareTensor: (image) => preprocess(image, spec.input),
    toInputs: (prepared) => toInputs(spec, prepared),
    async run(input, backend = first) {
      if (!isPreparedFrame(input)) {
        try {
          return await backend.run(toInputs(spec, input));
        } finally {
          // Its run has returned: nothing reads the tensor any more (a transferred one is detached anyway).
          tensors?.give(input.tensor);
        }
      }
      if (!backend.runFrame) throw new InspectdError('INSPECTD_INFER', `backend ${backend.info.name} takes tensors, not camera frames`);
      return backend.runFrame(input.frame);
    },
    decode: (outputs, input) => decoder.decode(outputs, input.transform, isPreparedFrame(input) ? undefined : input.regions),
    async inferImage(image, backend = first) {
      const t0 = performance.now();
      const prepared = await model.prepare(image);
      const t1 = performance.now();
      const outputs = await model.run(prepared, backend);
      const t2 = performance.now();
      const decoded = model.decode(outputs, prepared);
      const t3 = performance.now();
      return { decoded, timings: { preMs: t1 - t0, inferMs: t2 - t1, decodeMs: t3 - t2 } };
    },
    close: async () => {
      // A batched session's slots all close it; closing it once is enough and the rest return at once.
      await Promise.all(backends.map((b) => b.close()));
    },
  };
  return model;
}

/** The backend input map for a prepared frame, keyed by the spec's input name. */
export function toInputs(spec: ModelSpec, prepared: PreparedInput): TensorMap {
  return { [spec.input.name]: { type: 'float32', dims: prepared.dims, data: prepared.tensor } };
}

/**
 * A model.json that names tensors the ONNX file lacks would otherwise fail on the first frame
 * with a bare ORT message; say which names differ at load instead.
 */
export function checkModelIo(loaded: LoadedModelSpec, backend: InferenceBackend, decoder: Decoder): void {
  const { inputNames, outputNames } = backend.info;
  const problems: string[] = [];
  const inputName = loaded.spec.input.name;
  if (!inputNames.includes(inputName)) problems.push(`input.name "${inputName}" is not an input of the ONNX model (it has: ${inputNames.join(', ')})`);
  else if (inputNames.length !== 1) problems.push(`the ONNX model has ${inputNames.length} inputs (${inputNames.join(', ')}); inspectd feeds exactly one`);
  for (const out of decoder.outputNames) {
    if (!outputNames.includes(out)) problems.push(`decoder output "${out}" is not an output of the ONNX model (it has: ${outputNames.join(', ')})`);
  }
  if (problems.length > 0) {
    throw new ModelLoadError(`model ${loaded.path} does not match its ONNX file:\n  ${problems.join('\n  ')}`);
  }
}

/**
 * One inference on a mid-grey frame (catches shape and type mismatches, warms ORT's allocator),
 * then one per self-test image: a broken export whose scores leave scoreRange on real parts is
 * refused here with ModelOutputRangeError instead of publishing nonsense verdicts.
 */
export async function selfTest(model: OpenModel, backend: InferenceBackend = model.backend): Promise<void> {
  const cv = opencv();
  const { input } = model.spec;
  if (model.spec.template) {
    // A template model's input is a batch of patches cut against a reference, which only a camera
    // has: prove the classifier on one mid-grey patch, decoded as one region.
    const tensor = new Float32Array(3 * input.width * input.height).fill((128 * input.scale - input.mean[0]!) / input.std[0]!);
    const prepared: PreparedInput = { tensor, dims: [1, 3, input.height, input.width], transform: { frameWidth: input.width, frameHeight: input.height, scaleX: 1, scaleY: 1, padLeft: 0, padTop: 0 }, regions: [{ box: [0, 0, input.width, input.height], areaPx: 1 }] };
    try {
      model.decode(await backend.run(model.toInputs(prepared)), prepared);
    } catch (err) {
      const where = `model ${model.spec.name} (${model.loaded.path}, ${backend.info.precision}) on a mid-grey patch`;
      if (err instanceof ModelOutputRangeError) throw new ModelOutputRangeError(`${where}: ${err.message}`);
      throw new ModelLoadError(`${where} failed: ${(err as Error).message}`, { cause: err });
    }
    return;
  }
  const mono = inputChannels(input) === 1;
  const grey = new cv.Mat(input.height, input.width, mono ? cv.CV_8UC1 : cv.CV_8UC3, mono ? 128 : [128, 128, 128]);
  await runChecked(model, backend, grey, 'a mid-grey warm-up frame');
  for (const rel of model.spec.selfTest ?? []) {
    const file = resolve(model.loaded.dir, rel);
    let image: Mat;
    try {
      image = await readImage(file);
    } catch (err) {
      throw new ModelLoadError(`self-test image ${file} (selfTest in ${model.loaded.path}) cannot be read`, { cause: err });
    }
    await runChecked(model, backend, image, `self-test image ${file}`);
  }
}

async function runChecked(model: OpenModel, backend: InferenceBackend, image: Mat, what: string): Promise<void> {
  try {
    await model.inferImage(image, backend);
  } catch (err) {
    const where = `model ${model.spec.name} (${model.loaded.path}, ${backend.info.precision}) on ${what}`;
    if (err instanceof ModelOutputRangeError) throw new ModelOutputRangeError(`${where}: ${err.message}`);
    if (err instanceof InspectdError && err.code === 'INSPECTD_MODEL_LOAD') throw err;
    throw new ModelLoadError(`${where} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    image.release();
  }
}
