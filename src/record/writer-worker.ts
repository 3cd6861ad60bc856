/**
 * The verdict log's only writer. Every commit is an fsync (synchronous=FULL), which on a busy disk
 * takes from half a millisecond to tens of milliseconds; here, off the main thread, that time
 * never delays a deadline timer. Writes that arrive while a commit runs are committed together.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { VerdictStore, type StoreWrite } from './store.js';
import type { FromWriter, ToWriter, WriterConfig } from './writer-protocol.js';

if (!parentPort) throw new Error('the verdict writer must run in a worker thread');
const port = parentPort;
const cfg = workerData as WriterConfig;
const store = new VerdictStore({ path: cfg.path, synchronous: cfg.synchronous });
let queue: StoreWrite[] = [];
let scheduled = false;

function post(msg: FromWriter): void {
  port.postMessage(msg);
}

/**
 * Tests and the bench stand in for a slow disk (an SD card or a busy eMMC, where an fsync takes tens
 * of ms) with INSPECTD_TEST_COMMIT_DELAY_MS: each commit then holds this thread that long.
 */
const commitDelayMs = Number(process.env.INSPECTD_TEST_COMMIT_DELAY_MS ?? 0);
const delayShared = commitDelayMs > 0 ? new Int32Array(new SharedArrayBuffer(4)) : undefined;

function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  if (batch.length === 0) return;
  try {
    if (delayShared) Atomics.wait(delayShared, 0, 0, commitDelayMs);
    store.apply(batch);
    post({
      type: 'committed',
      verdicts: batch.flatMap((w) => (w.op === 'verdict' ? [w.msg.seq] : [])),
      published: batch.flatMap((w) => (w.op === 'published' ? w.seqs : [])),
    });
  } catch (err) {
    post({ type: 'error', message: (err as Error).message, lost: batch.flatMap((w) => (w.op === 'verdict' ? [w.msg.seq] : [])) });
  }
}

port.on('message', (msg: ToWriter) => {
  if (msg.type === 'write') {
    queue.push(...msg.writes);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    return;
  }
  flush();
  if (msg.type === 'sync') {
    post({ type: 'synced', id: msg.id });
    return;
  }
  store.close();
  post({ type: 'closed' });
  port.close();
});

post({ type: 'ready' });
