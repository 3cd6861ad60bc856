import { InferError, InspectdError } from '../errors.js';
import type { BackendInfo, InferenceBackend, TensorData, TensorMap } from './backend.js';

/** How many runs one batched backend made and how many frames they carried. */
export interface BatchStats {
  runs: number;
  frames: number;
  largest: number;
}

interface Waiting {
  inputs: TensorMap;
  resolve: (outputs: TensorMap) => void;
  reject: (err: Error) => void;
}

/**
 * Frames of several cameras in one inference call. The scheduler sees `maxBatch` ordinary backends
 * (slots); what they are given in one turn of the event loop, or while the real backend is busy, goes
 * to it as one batch along axis 0, and each slot gets its own frame's rows back. Nothing waits for a
 * batch to fill: a frame alone on an idle backend runs alone at once, so batching adds no latency, it
 * only takes the frames that would otherwise queue behind each other.
 */
export class BatchedBackend {
  readonly stats: BatchStats = { runs: 0, frames: 0, largest: 0 };
  private readonly waiting: Waiting[] = [];
  private busy = false;
  private flushQueued = false;
  private closed = false;
  readonly slots: InferenceBackend[];

  constructor(
    private readonly inner: InferenceBackend,
    readonly maxBatch: number,
  ) {
    const info: BackendInfo = { ...inner.info, maxBatch };
    this.slots = Array.from({ length: maxBatch }, () => ({
      info,
      run: (inputs: TensorMap) => this.enqueue(inputs),
      close: () => this.close(),
    }));
  }

  private enqueue(inputs: TensorMap): Promise<TensorMap> {
    if (this.closed) return Promise.reject(new InspectdError('INSPECTD_BACKEND_CLOSED', 'backend is closed'));
    return new Promise<TensorMap>((resolve, reject) => {
      this.waiting.push({ inputs, resolve, reject });
      // The scheduler hands out all the frames it can in one synchronous pass: collect them first.
      if (!this.busy && !this.flushQueued) {
        this.flushQueued = true;
        setImmediate(() => {
          this.flushQueued = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    if (this.busy || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, this.maxBatch);
    let joined: TensorMap;
    try {
      joined = batch.length === 1 ? batch[0]!.inputs : concat(batch.map((w) => w.inputs));
    } catch (err) {
      for (const w of batch) w.reject(err as Error);
      this.flush();
      return;
    }
    this.busy = true;
    this.stats.runs++;
    this.stats.frames += batch.length;
    this.stats.largest = Math.max(this.stats.largest, batch.length);
    this.inner.run(joined).then(
      (outputs) => {
        this.busy = false;
        let parts: TensorMap[];
        try {
          parts = batch.length === 1 ? [outputs] : split(outputs, batch.length);
        } catch (err) {
          for (const w of batch) w.reject(err as Error);
          this.flush();
          return;
        }
        batch.forEach((w, i) => w.resolve(parts[i]!));
        this.flush();
      },
      (err: unknown) => {
        this.busy = false;
        for (const w of batch) w.reject(err as Error);
        this.flush();
      },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new InspectdError('INSPECTD_BACKEND_CLOSED', 'backend closed'));
    await this.inner.close();
  }
}

type Typed = TensorData['data'];

function alloc(like: Typed, length: number): Typed {
  return new (like.constructor as new (n: number) => Typed)(length);
}

/** One tensor per input name, the frames' rows one after another along axis 0. */
export function concat(items: readonly TensorMap[]): TensorMap {
  const first = items[0]!;
  const out: TensorMap = {};
  for (const [name, t] of Object.entries(first)) {
    const rows = items.map((m) => m[name]);
    let n = 0;
    for (const r of rows) {
      if (!r || r.type !== t.type || r.dims.length !== t.dims.length || r.dims.some((d, i) => i > 0 && d !== t.dims[i])) {
        throw new InferError(`batched input ${name}: frames of different shapes cannot share one run`);
      }
      n += r.dims[0]!;
    }
    const data = alloc(t.data, rows.reduce((s, r) => s + r!.data.length, 0));
    let at = 0;
    for (const r of rows) {
      (data as Float32Array).set(r!.data as Float32Array, at);
      at += r!.data.length;
    }
    out[name] = { type: t.type, dims: [n, ...t.dims.slice(1)], data };
  }
  return out;
}

/** Each frame's rows of every output, in its own buffer (each may be transferred on its own). */
export function split(outputs: TensorMap, n: number): TensorMap[] {
  const parts: TensorMap[] = Array.from({ length: n }, () => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    if (t.dims[0] !== n) throw new InferError(`batched output ${name} has ${t.dims[0]} rows for ${n} frames: the model does not keep the batch axis first`);
    const per = t.data.length / n;
    for (let i = 0; i < n; i++) {
      parts[i]![name] = { type: t.type, dims: [1, ...t.dims.slice(1)], data: t.data.slice(i * per, (i + 1) * per) };
    }
  }
  return parts;
}
