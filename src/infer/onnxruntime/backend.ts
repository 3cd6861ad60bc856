import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { InferError, InspectdError, ModelLoadError } from '../../errors.js';
import type { BackendInfo, InferenceBackend, TensorMap } from '../backend.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { compiledWorker } from '../../util/worker-path.js';
import { isShared } from '../shared-tensors.js';

export interface OnnxRuntimeOptions {
  file: string;
  /** The model's bytes when they differ from the file's (the file then only names it). */
  bytes?: Uint8Array;
  precision: string;
  /** ORT intra-op threads for this session; 0 lets ORT use every core. */
  intraOpThreads: number;
  /** The inference thread's nice value (config inference.nice); undefined leaves it as inherited. */
  nice?: number;
  /** CPUs the inference thread is pinned to (config inference.cpus); undefined leaves it as inherited. */
  cpus?: readonly number[];
}

interface Pending {
  resolve: (outputs: TensorMap) => void;
  reject: (err: Error) => void;
}

export class OnnxRuntimeBackend implements InferenceBackend {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  lastSessionMs: number | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly info: BackendInfo,
  ) {
    worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    worker.on('error', (err) => this.failAll(new InferError(`onnxruntime worker crashed: ${err.message}`, { cause: err })));
    worker.on('exit', () => {
      if (!this.closed) this.failAll(new InferError('onnxruntime worker exited'));
    });
  }

  static async create(opts: OnnxRuntimeOptions): Promise<OnnxRuntimeBackend> {
    if (!existsSync(opts.file)) throw new ModelLoadError(`model file ${opts.file} does not exist`);
    // The session must live in a worker: ORT's run() blocks its calling thread for the whole inference.
    const worker = new Worker(compiledWorker(import.meta.url, 'worker.js'));
    const loaded = await new Promise<{ inputNames: string[]; outputNames: string[]; priority?: string; cpus?: string }>((res, rej) => {
      const onMessage = (msg: FromWorker) => {
        worker.off('error', onError);
        if (msg.type === 'loaded') res(msg);
        else if (msg.type === 'load-error') rej(new ModelLoadError(`cannot load ${opts.file}: ${msg.message}`));
        else rej(new ModelLoadError(`unexpected worker message ${msg.type}`));
      };
      const onError = (err: Error) => rej(new ModelLoadError(`onnxruntime worker failed: ${err.message}`, { cause: err }));
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.postMessage({ type: 'load', file: opts.file, ...(opts.bytes ? { bytes: opts.bytes } : {}), intraOpThreads: opts.intraOpThreads, ...(opts.nice === undefined ? {} : { nice: opts.nice }), ...(opts.cpus === undefined ? {} : { cpus: [...opts.cpus] }) } satisfies ToWorker);
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    return new OnnxRuntimeBackend(worker, {
      name: 'onnxruntime',
      precision: opts.precision,
      inputNames: loaded.inputNames,
      outputNames: loaded.outputNames,
      ...(loaded.priority ? { threadPriority: loaded.priority } : {}),
      ...(loaded.cpus ? { threadCpus: loaded.cpus } : {}),
      sharedInputs: true,
    });
  }

  run(inputs: TensorMap): Promise<TensorMap> {
    if (this.closed) return Promise.reject(new InspectdError('INSPECTD_BACKEND_CLOSED', 'backend is closed'));
    const id = this.nextId++;
    // A shared tensor is posted as is (it cannot be transferred); any other is moved, not copied.
    const transfer = Object.values(inputs)
      .filter((t) => !isShared(t.data))
      .map((t) => t.data.buffer as ArrayBuffer);
    return new Promise<TensorMap>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'run', id, inputs } satisfies ToWorker, transfer);
    });
  }

  private onMessage(msg: FromWorker): void {
    if (msg.type !== 'result' && msg.type !== 'run-error') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.type === 'result') {
      this.lastSessionMs = msg.sessionMs;
      p.resolve(msg.outputs);
    }
    else p.reject(new InferError(msg.message));
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new InspectdError('INSPECTD_BACKEND_CLOSED', 'backend closed'));
    await new Promise<void>((res) => {
      this.worker.once('exit', () => res());
      this.worker.postMessage({ type: 'close' } satisfies ToWorker);
      setTimeout(() => void this.worker.terminate().then(() => res()), 2000).unref();
    });
  }
}
