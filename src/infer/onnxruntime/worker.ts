/**
 * ONNX Runtime's run() executes synchronously on the calling thread, so the session lives here,
 * in a worker: the main thread's deadline timers, MQTT and SQLite never wait behind an inference.
 */
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { pinThisThread } from '../../ops/cpu-affinity.js';
import { setThisThreadNice } from '../../ops/thread-priority.js';
import ort from 'onnxruntime-node';
import type { TensorData, TensorMap } from '../backend.js';
import type { FromWorker, ToWorker } from './protocol.js';

if (!parentPort) throw new Error('onnxruntime worker must run in a worker thread');
const port = parentPort;
let session: ort.InferenceSession | undefined;

/**
 * Test knob, like INSPECTD_TEST_COMMIT_DELAY_MS for the log: every run holds this thread this much
 * longer (asleep, no CPU), a backend slower than the deadline, so the daemon's TIMEOUTs can be timed
 * from outside while their inference is still running.
 */
const slowRunMs = Number(process.env.INSPECTD_TEST_INFER_DELAY_MS ?? 0);
const sleeper = slowRunMs > 0 ? new Int32Array(new SharedArrayBuffer(4)) : undefined;

/**
 * This thread's own copies of shared inputs (ONNX Runtime takes no SharedArrayBuffer), reused run
 * after run so no frame allocates here; the copy is a memcpy. A copy is held until its run has
 * returned: a second run's message can arrive while the first awaits the session.
 */
const spareCopies: Float32Array[] = [];
function ownCopy(data: TensorData['data'], held: Float32Array[]): TensorData['data'] {
  if (!(data.buffer instanceof SharedArrayBuffer) || !(data instanceof Float32Array)) return data;
  const i = spareCopies.findIndex((c) => c.length === data.length);
  const own = i >= 0 ? spareCopies.splice(i, 1)[0]! : new Float32Array(data.length);
  own.set(data);
  held.push(own);
  return own;
}

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

port.on('message', (msg: ToWorker) => {
  void handle(msg);
});

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'load':
      try {
        // Before the session exists: ORT's intra-op threads, made by it, inherit this thread's nice.
        const priority = msg.nice === undefined ? undefined : setThisThreadNice(msg.nice);
        // Likewise its affinity: pinned here, ORT's own threads start on the same CPUs.
        const cpus = msg.cpus === undefined ? undefined : pinThisThread(msg.cpus);
        const options: ort.InferenceSession.SessionOptions = {
          intraOpNumThreads: msg.intraOpThreads,
          interOpNumThreads: 1,
          executionProviders: ['cpu'],
          graphOptimizationLevel: 'all',
        };
        // A rewritten graph (a batch axis made dynamic) comes as bytes; the file named is its origin.
        session = msg.bytes ? await ort.InferenceSession.create(msg.bytes, options) : await ort.InferenceSession.create(msg.file, options);
        post({ type: 'loaded', inputNames: [...session.inputNames], outputNames: [...session.outputNames], ...(priority ? { priority } : {}), ...(cpus ? { cpus } : {}) });
      } catch (err) {
        post({ type: 'load-error', message: (err as Error).message });
      }
      return;
    case 'run': {
      if (!session) {
        post({ type: 'run-error', id: msg.id, message: 'no model loaded' });
        return;
      }
      const held: Float32Array[] = [];
      try {
        const feeds: Record<string, ort.Tensor> = {};
        for (const [name, t] of Object.entries(msg.inputs)) feeds[name] = new ort.Tensor(t.type, ownCopy(t.data, held) as never, t.dims);
        const t0 = performance.now();
        const results = await session.run(feeds);
        const sessionMs = performance.now() - t0;
        if (sleeper) Atomics.wait(sleeper, 0, 0, slowRunMs);
        const outputs: TensorMap = {};
        const transfer: ArrayBuffer[] = [];
        for (const [name, t] of Object.entries(results)) {
          // Copy into a fresh buffer we own: it can then be transferred, not cloned, to the main thread.
          const data = (t.data as TensorData['data']).slice();
          outputs[name] = { type: t.type as TensorData['type'], dims: [...t.dims], data };
          transfer.push(data.buffer as ArrayBuffer);
        }
        post({ type: 'result', id: msg.id, outputs, sessionMs }, transfer);
      } catch (err) {
        post({ type: 'run-error', id: msg.id, message: (err as Error).message });
      } finally {
        // A few at most: one per run in flight on this session.
        if (spareCopies.length < 4) spareCopies.push(...held.slice(0, 4 - spareCopies.length));
      }
      return;
    }
    case 'close':
      await session?.release();
      session = undefined;
      port.close();
      return;
  }
}
