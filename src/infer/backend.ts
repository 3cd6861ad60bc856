/**
 * A model runtime behind one interface, so the scheduler never knows whether ONNX Runtime on
 * the CPU or TensorRT on a GPU answers. Implementations run inference off the main thread.
 */
export interface TensorData {
  /** Element type as ONNX names it. */
  type: 'float32' | 'uint8' | 'int8' | 'int32' | 'int64';
  dims: number[];
  data: Float32Array | Uint8Array | Int8Array | Int32Array | BigInt64Array;
}

export type TensorMap = Record<string, TensorData>;

export interface BackendInfo {
  /** 'onnxruntime' | 'tensorrt' | a test double's name. */
  name: string;
  precision: string;
  inputNames: string[];
  outputNames: string[];
  /** Frames one run may carry, when the scheduler's slots share one batched backend (src/infer/batch.ts). */
  maxBatch?: number;
  /** The inference thread's scheduling priority as set at load ('nice -5', or why it could not be). */
  threadPriority?: string;
  /** The CPUs the inference thread was pinned to at load ('cpus 1', or why it could not be). */
  threadCpus?: string;
  /**
   * Takes input tensors in shared memory (SharedArrayBuffer) and is done reading them when its run
   * settles, so the caller may reuse them (src/infer/shared-tensors.ts); ONNX Runtime's worker does.
   */
  sharedInputs?: boolean;
}

/** Camera pixel formats a backend that preprocesses frames itself reads (GenICam names). */
export type PixelFormat = 'mono8' | 'bgr8' | 'bayer_rg8';

/** A frame's size and pixel format, without its pixels. */
export interface FrameGeometry {
  width: number;
  height: number;
  format: PixelFormat;
}

/** A camera frame's own pixels, rows packed without padding, for a backend that makes its input tensor itself. */
export interface RawFrame extends FrameGeometry {
  pixels: Uint8Array;
}

export interface InferenceBackend {
  readonly info: BackendInfo;
  /**
   * Runs one inference. Inputs' buffers may be transferred (detached) to the worker; shared ones
   * (info.sharedInputs) are read in place and are the caller's again once the promise settles.
   */
  run(inputs: TensorMap): Promise<TensorMap>;
  /**
   * Present on a backend that preprocesses camera frames itself, with src/preprocess's arithmetic
   * (model.json's input block): TensorRT, whose CUDA kernel writes the engine's input buffer. The
   * chain in src/inspect/ then hands it the frame's pixels instead of a tensor made by OpenCV. The
   * pixels are copied before the promise settles and may be reused after.
   */
  runFrame?(frame: RawFrame): Promise<TensorMap>;
  /**
   * Time the last run spent in the runtime itself, clocked on the inference thread: the rest of a
   * run's round trip is messaging and the main thread getting round to the answer. Set before the
   * run's promise settles; absent where the backend cannot tell.
   */
  readonly lastSessionMs?: number | undefined;
  close(): Promise<void>;
}
