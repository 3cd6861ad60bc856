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
}

export interface InferenceBackend {
  readonly info: BackendInfo;
  /** Runs one inference. Inputs' buffers may be transferred (detached) to the worker. */
  run(inputs: TensorMap): Promise<TensorMap>;
  close(): Promise<void>;
}
