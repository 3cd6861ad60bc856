import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createDecoder } from '../decode/index.js';
import type { Decoded, Decoder } from '../decode/decoder.js';
import { ImageReadError, InspectdError, ModelLoadError, ModelOutputRangeError } from '../errors.js';
import { inputChannels, loadModelSpec, modelFile, type LoadedModelSpec, type ModelSpec, type Precision } from '../model/spec.js';
import { opencv, type Mat } from '../preprocess/opencv.js';
import { preprocess, type PreparedInput } from '../preprocess/preprocess.js';
import type { ModelInfo } from '../verdict/types.js';
import type { InferenceBackend, TensorMap } from './backend.js';
import { OnnxRuntimeBackend } from './onnxruntime/backend.js';

export interface OpenModelOptions {
  precision?: Precision;
  /** ORT intra-op threads; 0 (default) lets ORT use every core. */
  intraOpThreads?: number;
  /** Skip the warm-up and self-test runs (tools that only need the spec and backend). */
  skipSelfTest?: boolean;
}

export interface InferTimings {
  preMs: number;
  inferMs: number;
  decodeMs: number;
}

/**
 * A model ready to judge frames: spec, backend and decoder checked against each other and proven
 * on a grey frame and the spec's self-test images. The three stages stay separately callable so
 * the scheduler can own deadlines between them.
 */
export interface OpenModel {
  readonly spec: ModelSpec;
  readonly loaded: LoadedModelSpec;
  readonly info: ModelInfo;
  readonly backend: InferenceBackend;
  readonly decoder: Decoder;
  prepare(image: Mat): PreparedInput;
  /** Runs the backend; the prepared tensor's buffer is transferred to the worker and detached. */
  run(prepared: PreparedInput): Promise<TensorMap>;
  decode(outputs: TensorMap, prepared: PreparedInput): Decoded;
  inferImage(image: Mat): Promise<{ decoded: Decoded; timings: InferTimings }>;
  close(): Promise<void>;
}

export async function openModel(specPath: string, opts: OpenModelOptions = {}): Promise<OpenModel> {
  const loaded = loadModelSpec(specPath);
  const { file, precision } = modelFile(loaded, opts.precision);
  const decoder = createDecoder(loaded.spec);
  const backend = await OnnxRuntimeBackend.create({ file, precision, intraOpThreads: opts.intraOpThreads ?? 0 });
  const model = wrapModel(loaded, backend, decoder);
  try {
    checkModelIo(loaded, backend, decoder);
    if (!opts.skipSelfTest) await selfTest(model);
  } catch (err) {
    await backend.close();
    throw err;
  }
  return model;
}

/** An OpenModel over any backend (tests inject doubles; the daemon may hold several workers). */
export function wrapModel(loaded: LoadedModelSpec, backend: InferenceBackend, decoder: Decoder): OpenModel {
  const spec = loaded.spec;
  const info: ModelInfo = { name: spec.name, version: spec.version, precision: backend.info.precision, backend: backend.info.name };
  const model: OpenModel = {
    spec,
    loaded,
    info,
    backend,
    decoder,
    prepare: (image) => preprocess(image, spec.input),
    run: (prepared) => backend.run(toInputs(spec, prepared)),
    decode: (outputs, prepared) => decoder.decode(outputs, prepared.transform),
    async inferImage(image) {
      const t0 = performance.now();
      const prepared = model.prepare(image);
      const t1 = performance.now();
      const outputs = await model.run(prepared);
      const t2 = performance.now();
      const decoded = model.decode(outputs, prepared);
      const t3 = performance.now();
      return { decoded, timings: { preMs: t1 - t0, inferMs: t2 - t1, decodeMs: t3 - t2 } };
    },
    close: () => backend.close(),
  };
  return model;
}

/** The backend input map for a prepared frame, keyed by the spec's input name. */
export function toInputs(spec: ModelSpec, prepared: PreparedInput): TensorMap {
  return { [spec.input.name]: { type: 'float32', dims: prepared.dims, data: prepared.tensor } };
}

/** Backend run + decode of an already-prepared frame: the scheduler's inference step. */
export async function runDecoded(model: OpenModel, prepared: PreparedInput): Promise<Decoded> {
  const outputs = await model.run(prepared);
  return model.decode(outputs, prepared);
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
export async function selfTest(model: OpenModel): Promise<void> {
  const cv = opencv();
  const { input } = model.spec;
  const grey = new cv.Mat(input.height, input.width, inputChannels(input) === 1 ? cv.CV_8UC1 : cv.CV_8UC3, inputChannels(input) === 1 ? 128 : [128, 128, 128]);
  await runChecked(model, grey, 'a mid-grey warm-up frame');
  for (const rel of model.spec.selfTest ?? []) {
    const file = resolve(model.loaded.dir, rel);
    let image: Mat;
    try {
      image = await readImage(file);
    } catch (err) {
      throw new ModelLoadError(`self-test image ${file} (selfTest in ${model.loaded.path}) cannot be read`, { cause: err });
    }
    await runChecked(model, image, `self-test image ${file}`);
  }
}

async function runChecked(model: OpenModel, image: Mat, what: string): Promise<void> {
  try {
    await model.inferImage(image);
  } catch (err) {
    const where = `model ${model.spec.name} (${model.loaded.path}, ${model.info.precision}) on ${what}`;
    if (err instanceof ModelOutputRangeError) throw new ModelOutputRangeError(`${where}: ${err.message}`);
    if (err instanceof InspectdError && err.code === 'INSPECTD_MODEL_LOAD') throw err;
    throw new ModelLoadError(`${where} failed: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * An image file as the pipeline's 8-bit mono/BGR Mat. IMREAD_COLOR drops alpha (RGBA PNGs) and
 * reduces 16-bit TIFFs to 8 bits, so every readable image reaches preprocessing the same way.
 */
export async function readImage(file: string): Promise<Mat> {
  const cv = opencv();
  let mat: Mat;
  try {
    mat = await cv.imreadAsync(file, cv.IMREAD_COLOR);
  } catch (err) {
    throw new ImageReadError(file, { cause: err });
  }
  if (!mat || mat.empty || mat.rows <= 0 || mat.cols <= 0) throw new ImageReadError(file);
  return mat;
}
