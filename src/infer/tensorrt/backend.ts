import { existsSync } from 'node:fs';
import { InspectdError } from '../../errors.js';
import type { InputSpec } from '../../model/spec.js';
import type { BackendInfo, InferenceBackend, RawFrame, TensorData, TensorMap } from '../backend.js';
import { tensorRtAvailability } from './availability.js';
import { requireMatchingEngine, sha256File, type EngineKey } from './engine-cache.js';
import { GpuFramePipeline, type GpuOutputs } from './frame-pipeline.js';

export interface TensorRtOptions {
  /** The ONNX file the engine was built from (its hash is part of the engine's key). */
  onnxFile: string;
  enginePath: string;
  input: InputSpec;
  precision: 'fp32' | 'fp16' | 'int8';
  /** Frames in flight at once (execution contexts). */
  slots?: number;
  device?: number;
}

/**
 * The TensorRT engine backend: the engine runs on the GPU through native/'s FramePipeline. It takes
 * the camera's pixels (runFrame(), which the chain in src/inspect/ uses because this backend has
 * it), preprocessed by the CUDA kernel straight into the engine's input buffer, or a CPU-made
 * tensor (run(), uploaded as is).
 */
export class TensorRtBackend implements InferenceBackend {
  private readonly framePipelines = new Map<string, GpuFramePipeline>();
  private closed = false;

  private constructor(
    private readonly opts: TensorRtOptions,
    private readonly tensorPipeline: GpuFramePipeline,
    readonly info: BackendInfo,
  ) {}

  /** Fails with the availability code (INSPECTD_TRT_NOT_FOUND, INSPECTD_CUDA, ...) when it cannot run here. */
  static async create(opts: TensorRtOptions): Promise<InferenceBackend & TensorRtBackend> {
    const available = tensorRtAvailability({ device: opts.device ?? 0 });
    if (!available.ok) throw new InspectdError(available.code, `${available.reason}; ${available.fix}`);
    if (!existsSync(opts.onnxFile)) throw new InspectdError('INSPECTD_MODEL_LOAD', `model file ${opts.onnxFile} does not exist`);
    const key: EngineKey = {
      gpuName: available.device.name,
      computeCapability: available.device.computeCapability,
      tensorRtVersion: available.libraryVersion,
      modelSha256: sha256File(opts.onnxFile),
      precision: opts.precision,
    };
    requireMatchingEngine(opts.enginePath, key);
    // The tensor path: the frame geometry is irrelevant (mode 1 uploads the tensor as is).
    const pipeline = GpuFramePipeline.open({ ...pipelineOpts(opts), frame: { width: opts.input.width, height: opts.input.height, format: 'mono8' } });
    const info: BackendInfo = {
      name: 'tensorrt',
      precision: opts.precision,
      inputNames: [opts.input.name],
      outputNames: pipeline.outputInfo.map((o) => o.name),
    };
    return new TensorRtBackend(opts, pipeline, info);
  }

  run(inputs: TensorMap): Promise<TensorMap> {
    if (this.closed) return Promise.reject(new InspectdError('INSPECTD_BACKEND_CLOSED', 'backend is closed'));
    const tensor = inputs[this.opts.input.name];
    if (!tensor || !(tensor.data instanceof Float32Array)) {
      return Promise.reject(new InspectdError('INSPECTD_INFER', `TensorRT backend needs a float32 input named ${this.opts.input.name}`));
    }
    return this.tensorPipeline.runTensor(tensor.data, copyOutputs);
  }

  /**
   * Camera pixels in (copied into the slot's pinned buffer), outputs out: preprocessing on the GPU.
   * One pipeline per frame geometry, opened at its first frame (a camera keeps its size).
   */
  async runFrame(frame: RawFrame): Promise<TensorMap> {
    if (this.closed) throw new InspectdError('INSPECTD_BACKEND_CLOSED', 'backend is closed');
    const { width, height, format } = frame;
    const id = `${width}x${height}:${format}`;
    let pipeline = this.framePipelines.get(id);
    if (!pipeline) {
      pipeline = GpuFramePipeline.open({ ...pipelineOpts(this.opts), frame: { width, height, format } });
      this.framePipelines.set(id, pipeline);
    }
    return pipeline.runFrame(frame.pixels, copyOutputs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.tensorPipeline, ...this.framePipelines.values()].map((p) => p.close()));
  }
}

function pipelineOpts(opts: TensorRtOptions) {
  return { input: opts.input, enginePath: opts.enginePath, slots: opts.slots ?? 2, device: opts.device ?? 0 };
}

/** Outputs leave pinned memory before the slot is reused; float16 becomes float32 for the decoders. */
function copyOutputs(out: GpuOutputs): TensorMap {
  const map: TensorMap = {};
  out.info.forEach((info, i) => {
    const bytes = out.views[i]!;
    map[info.name] = toTensorData(info.type, info.dims, bytes);
  });
  return map;
}

export function toTensorData(type: string, dims: number[], bytes: Uint8Array): TensorData {
  const copy = bytes.slice();
  switch (type) {
    case 'float32':
      return { type: 'float32', dims, data: new Float32Array(copy.buffer) };
    case 'float16':
      return { type: 'float32', dims, data: halfToFloat(new Uint16Array(copy.buffer)) };
    case 'int32':
      return { type: 'int32', dims, data: new Int32Array(copy.buffer) };
    case 'int64':
      return { type: 'int64', dims, data: new BigInt64Array(copy.buffer) };
    case 'int8':
      return { type: 'int8', dims, data: new Int8Array(copy.buffer) };
    case 'uint8':
    case 'bool':
      return { type: 'uint8', dims, data: copy };
    default:
      throw new InspectdError('INSPECTD_INFER', `engine output type ${type} is not supported`);
  }
}

export function halfToFloat(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const v = h[i]!;
    const sign = v & 0x8000 ? -1 : 1;
    const exp = (v >> 10) & 0x1f;
    const frac = v & 0x3ff;
    out[i] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}
