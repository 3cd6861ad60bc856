import type { TensorMap } from '../backend.js';

/** Messages between the main thread and an ONNX Runtime worker. */
export type ToWorker =
  | { type: 'load'; file: string; bytes?: Uint8Array; intraOpThreads: number; nice?: number; cpus?: number[] }
  | { type: 'run'; id: number; inputs: TensorMap }
  | { type: 'close' };

export type FromWorker =
  | { type: 'loaded'; inputNames: string[]; outputNames: string[]; priority?: string; cpus?: string }
  | { type: 'load-error'; message: string }
  | { type: 'result'; id: number; outputs: TensorMap; sessionMs: number }
  | { type: 'run-error'; id: number; message: string };
