import { FrameError, InspectdError } from '../../errors.js';
import type { InputSpec } from '../../model/spec.js';
import { fromNative, loadAddon } from './addon.js';
import type { NativeFramePipeline, NativeTensorInfo } from './native-types.js';
import { planPreprocess, type FrameGeometry, type PreprocessPlan } from './plan.js';

export interface GpuPipelineOptions {
  input: InputSpec;
  frame: FrameGeometry;
  out?: 'float32' | 'float16';
  /** Frames in flight at once; each slot owns its stream and buffers. */
  slots?: number;
  device?: number;
  /** A TensorRT engine; without one the preprocessed tensor itself is the output. */
  enginePath?: string;
}

/** One finished frame's outputs: views of pinned memory, valid only inside the `use` callback. */
export interface GpuOutputs {
  views: Uint8Array[];
  info: readonly NativeTensorInfo[];
  /** GPU time from upload start to download end (CUDA events). */
  gpuMs: number;
  slot: number;
}

/**
 * The JS side of native/src/frame_pipeline.cc: hands out slots, writes the frame into the slot's
 * pinned buffer (the one copy on the CPU), runs it, and gives the caller the outputs before the
 * slot is reused. Frames beyond the slot count wait for a free slot.
 */
export class GpuFramePipeline {
  private readonly free: number[];
  private readonly waiting: Array<(slot: number) => void> = [];
  private readonly inputs: Uint8Array[];
  private readonly outputs: Uint8Array[][];
  readonly outputInfo: readonly NativeTensorInfo[];
  readonly stage: string;
  private closed = false;

  private constructor(
    private readonly native: NativeFramePipeline,
    readonly plan: PreprocessPlan,
  ) {
    this.inputs = native.frameBuffers.map((b) => new Uint8Array(b));
    this.outputs = native.outputBuffers.map((slot) => slot.map((b) => new Uint8Array(b)));
    this.free = this.inputs.map((_, i) => i);
    const d = native.describe();
    this.outputInfo = d.outputs;
    this.stage = d.stage;
  }

  static open(opts: GpuPipelineOptions): GpuFramePipeline {
    const addon = loadAddon();
    if (!addon.FramePipeline) {
      throw new InspectdError('INSPECTD_CUDA', 'the GPU addon was built without the CUDA toolkit: install it (nvcc) and run scripts/setup.sh');
    }
    const plan = planPreprocess(opts.input, opts.frame, opts.out);
    const slots = opts.slots ?? 2;
    if (!Number.isInteger(slots) || slots < 1 || slots > 64) throw new InspectdError('INSPECTD_USAGE', `slots must be 1..64, got ${slots}`);
    try {
      const native = new addon.FramePipeline({
        ...plan.native,
        device: opts.device ?? 0,
        slots,
        ...(opts.enginePath ? { enginePath: opts.enginePath } : {}),
      });
      return new GpuFramePipeline(native, plan);
    } catch (err) {
      throw fromNative(err);
    }
  }

  /**
   * Preprocess (and infer) one camera frame; `use` reads the outputs before the slot is reused.
   * The pixels are copied into pinned memory when a slot is free, which may be after this call
   * returns: keep them unchanged until the promise settles.
   */
  runFrame<T>(pixels: Uint8Array, use: (out: GpuOutputs) => T): Promise<T> {
    if (pixels.byteLength !== this.plan.frameBytes) {
      return Promise.reject(new FrameError(`frame has ${pixels.byteLength} bytes, the pipeline expects ${this.plan.frameBytes}`));
    }
    return this.submit(pixels, 0, use);
  }

  /** A tensor made on the CPU (the existing preprocessing): uploaded as is, then inferred. */
  runTensor<T>(tensor: Float32Array, use: (out: GpuOutputs) => T): Promise<T> {
    const bytes = new Uint8Array(tensor.buffer, tensor.byteOffset, tensor.byteLength);
    if (bytes.byteLength !== this.plan.tensorBytes) {
      return Promise.reject(new InspectdError('INSPECTD_INFER', `tensor has ${bytes.byteLength} bytes, the engine expects ${this.plan.tensorBytes}`));
    }
    return this.submit(bytes, 1, use);
  }

  timings(slot: number): [number, number, number] {
    return this.native.timings(slot);
  }

  /** Benchmarks: the kernel alone on the last frame written to slot 0, ms per launch. */
  benchmarkKernel(iterations: number, sets: number, single = false): number {
    return this.native.benchmarkKernel(iterations, sets, single);
  }

  stats(): { submitted: number; completed: number; inFlight: number } {
    return this.native.stats();
  }

  /** Waits for frames in flight, then frees every GPU and pinned buffer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.native.close();
    for (const w of this.waiting.splice(0)) w(-1);
  }

  private async submit<T>(bytes: Uint8Array, mode: 0 | 1, use: (out: GpuOutputs) => T): Promise<T> {
    const slot = await this.acquire();
    try {
      this.inputs[slot]!.set(bytes);
      const gpuMs = await this.native.run(slot, mode).catch((err: unknown) => {
        throw fromNative(err);
      });
      return use({ views: this.outputs[slot]!, info: this.outputInfo, gpuMs, slot });
    } finally {
      this.release(slot);
    }
  }

  private acquire(): Promise<number> {
    if (this.closed) return Promise.reject(new InspectdError('INSPECTD_BACKEND_CLOSED', 'GPU pipeline is closed'));
    const slot = this.free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve, reject) =>
      this.waiting.push((s) => (s < 0 ? reject(new InspectdError('INSPECTD_BACKEND_CLOSED', 'GPU pipeline is closed')) : resolve(s))),
    );
  }

  private release(slot: number): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.free.push(slot);
  }
}
