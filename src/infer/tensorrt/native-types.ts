/** The shape of native/build/Release/inspectd_gpu.node's exports (native/src/addon.cc). */
export interface NativeBuildInfo {
  cuda: boolean;
  cudaRuntimeVersion?: number;
  /** 0 when no NVIDIA driver could be asked. */
  cudaDriverVersion?: number;
  /** NV_TENSORRT_MAJOR of the headers the addon was compiled against; 0 = built without TensorRT code. */
  tensorRtHeadersMajor: number;
}

export interface NativeLibraryAttempt {
  file: string;
  error?: string;
}

export interface NativeTensorRtProbe {
  found: boolean;
  library?: string;
  onnxParser?: string;
  libraryVersion: number;
  headersMajor: number;
  inferAttempts: NativeLibraryAttempt[];
  parserAttempts: NativeLibraryAttempt[];
  reason?: string;
}

export interface NativeDevice {
  index: number;
  name: string;
  computeCapability: string;
  totalMemory: number;
  multiProcessors: number;
  integrated: boolean;
}

export interface NativeTensorInfo {
  name: string;
  dims: number[];
  type: string;
  bytes: number;
}

/** native/src/preprocess.h's PreprocessParams, plus the pipeline's own options. */
export interface NativePipelineOptions {
  device: number;
  slots: number;
  srcWidth: number;
  srcHeight: number;
  format: number;
  dstWidth: number;
  dstHeight: number;
  innerWidth: number;
  innerHeight: number;
  padLeft: number;
  padTop: number;
  resize: number;
  color: number;
  nchw: boolean;
  half: boolean;
  alpha: number[];
  beta: number[];
  padValue: number;
  enginePath?: string;
}

export interface NativeFramePipeline {
  readonly frameBuffers: ArrayBuffer[];
  readonly outputBuffers: ArrayBuffer[][];
  /** mode 0: the slot's buffer holds camera pixels; 1: a ready tensor. Resolves with GPU ms. */
  run(slot: number, mode: 0 | 1): Promise<number>;
  describe(): { stage: string; input: NativeTensorInfo; outputs: NativeTensorInfo[]; resize: number; areaFastScale: number };
  /** upload, preprocess, stage (inference + download), ms, of the slot's last frame. */
  timings(slot: number): [number, number, number];
  stats(): { submitted: number; completed: number; inFlight: number };
  /** Benchmarks only: ms per launch of the preprocessing kernel alone (native/src/frame_pipeline.cc). */
  /** ms per launch: the mean over back-to-back launches, or (single) the median of launches each timed alone. */
  benchmarkKernel(iterations: number, sets: number, single?: boolean): number;
  close(): Promise<void>;
}

export interface NativeAllocationStats {
  deviceAllocations: number;
  pinnedAllocations: number;
  deviceBytesLive: number;
  pinnedBytesLive: number;
  failedFrees: number;
}

export interface NativeBuildEngineResult {
  engineBytes: number;
  hasQdq: boolean;
  /** IEngineInspector's JSON (ProfilingVerbosity::kDETAILED). */
  layers: string;
  libraryVersion: number;
}

export interface NativeAddon {
  buildInfo(): NativeBuildInfo;
  tensorRt(): NativeTensorRtProbe;
  devices?(): NativeDevice[];
  memoryInfo?(device?: number): { free: number; total: number };
  allocationStats?(): NativeAllocationStats;
  /** Copy times and rates; `sets` > 1 rotates device-to-device copies over that many buffer pairs (past L2). */
  /** single: device-to-device only, the median of copies each timed alone (as benchmarkKernel's single). */
  copyBandwidth?(bytes: number, iterations: number, sets?: number, single?: boolean): Record<string, number>;
  FramePipeline?: new (opts: NativePipelineOptions) => NativeFramePipeline;
  buildEngine?(
    opts: { onnx: string; out: string; precision: string; workspaceMb?: number; timingCache?: string; maxBatch?: number },
    onProgress?: (line: string) => void,
  ): Promise<NativeBuildEngineResult>;
}
