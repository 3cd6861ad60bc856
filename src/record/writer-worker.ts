/**
 * The verdict log's only writer. Every commit is an fsync (synchronous=FULL), which on a busy disk
 * takes from half a millisecond to tens of milliseconds; here, off the main thread, that time
 * never delays a deadline timer. Writes that arrive while a commit runs are committed together.
 *
 * A commit that fails (disk full, I/O error, SQLITE_BUSY after the busy timeout) loses nothing:
 * its writes stay at the head of the queue and are retried with capped back-off, new writes queue
 * behind (pending-writes.ts holds the order and the bound), and the storage state is reported on
 * each change. Retention runs here too, in small steps between commits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorCode } from '../errors.js';
import { batchSummary, PendingWrites } from './pending-writes.js';
import { VerdictStore } from './store.js';
import type { FromWriter, StorageState, ToWriter, WriterConfig } from './writer-protocol.js';
import { setThisThreadNice } from '../ops/thread-priority.js';

if (!parentPort) throw new Error('the verdict writer must run in a worker thread');
const port = parentPort;
const cfg = workerData as WriterConfig;
// Linux applies it to this thread only (src/ops/thread-priority.ts); a failure leaves it as it was.
if (cfg.nice !== undefined) setThisThreadNice(cfg.nice);
/** Writes per transaction: large enough to catch up after a fault quickly, small enough to keep one commit short. */
const MAX_BATCH = 5_000;

const openStore = () => new VerdictStore({ path: cfg.path, synchronous: cfg.synchronous, busyTimeoutMs: cfg.busyTimeoutMs, outputs: cfg.outputs });
let store: VerdictStore | undefined = openStore();
const pending = new PendingWrites(cfg.maxPendingVerdicts);
let fault: { code: string; message: string; since: number } | undefined;
let okSince = Date.now();
let attempts = 0;
let retryTimer: NodeJS.Timeout | undefined;
let flushScheduled = false;
let closing = false;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
/**
 * Tests and the bench stand in for a slow disk (an SD card or a busy eMMC, where an fsync takes tens
 * of ms) with slowCommitMs or INSPECTD_TEST_COMMIT_DELAY_MS: each commit then holds this thread that long.
 */
const commitDelayMs = cfg.slowCommitMs > 0 ? cfg.slowCommitMs : Number(process.env.INSPECTD_TEST_COMMIT_DELAY_MS ?? 0);

function post(msg: FromWriter): void {
  port.postMessage(msg);
}

function state(): StorageState {
  return {
    ok: !fault,
    code: fault?.code ?? null,
    message: fault?.message ?? null,
    pendingWrites: pending.pendingWrites,
    unloggedVerdicts: pending.unloggedTotal,
    since: fault?.since ?? okSince,
  };
}

/** SQLite's code for the failure, in the catalogue's terms. */
function classify(err: unknown): string {
  const code = errorCode(err);
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || /disk is full|no space/i.test(String((err as Error)?.message))) return 'INSPECTD_STORE_FULL';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'INSPECTD_STORE_BUSY';
  return 'INSPECTD_STORE_IO';
}

function onFailure(err: unknown): void {
  const code = classify(err);
  const message = (err as Error)?.message ?? String(err);
  // After an I/O error the connection may be unusable; a lock or a full disk leave it sound.
  if (code === 'INSPECTD_STORE_IO') {
    try {
      store?.close();
    } catch {
      /* it is being replaced either way */
    }
    store = undefined;
  }
  if (!fault || fault.code !== code) {
    fault = { code, message, since: Date.now() };
    post({ type: 'storage', state: state() });
  }
  if (!closing) scheduleRetry();
}

function scheduleRetry(): void {
  if (retryTimer) return;
  const delay = Math.min(cfg.retryMaxMs, cfg.retryMinMs * 2 ** Math.min(attempts, 20));
  attempts++;
  retryTimer = setTimeout(() => {
    retryTimer = undefined;
    flush();
  }, delay);
}

/** Commits the queue batch by batch; stops at the first failure (the batch stays queued). True when empty. */
function flush(): boolean {
  while (pending.length > 0) {
    const batch = pending.head(MAX_BATCH);
    try {
      store ??= openStore();
      if (commitDelayMs > 0) Atomics.wait(sleeper, 0, 0, commitDelayMs);
      store.apply(batch);
    } catch (err) {
      onFailure(err);
      return false;
    }
    pending.commit(batch.length);
    const summary = batchSummary(batch);
    // A batch of reservations only is nothing the outputs need to hear about.
    if (summary.verdicts.length > 0 || Object.keys(summary.delivered).length > 0) post({ type: 'committed', ...summary });
    if (fault) {
      fault = undefined;
      attempts = 0;
      okSince = Date.now();
      post({ type: 'storage', state: state() });
    }
  }
  return true;
}

function scheduleFlush(): void {
  // While failing, the retry timer decides when to try again: new writes just queue.
  if (fault || flushScheduled) return;
  flushScheduled = true;
  setImmediate(() => {
    flushScheduled = false;
    flush();
  });
}

// Retention: a job runs step by step (each its own short transaction), yielding to commits in between.
let pruneCutoffMs = 0;
let pruning = false;
function startRetention(): void {
  if (cfg.retention.maxAgeMs > 0) pruneCutoffMs = Math.max(pruneCutoffMs, Date.now() - cfg.retention.maxAgeMs);
  if (pruning || fault || !store) return;
  let bySize = false;
  try {
    bySize = store.overSize(cfg.retention.maxBytes);
  } catch {
    return;
  }
  if (pruneCutoffMs === 0 && !bySize) return;
  pruning = true;
  const step = () => {
    let n = 0;
    if (!closing && !fault && store && flush()) {
      try {
        n = store.retentionStep({ cutoffMs: pruneCutoffMs, maxBytes: bySize ? cfg.retention.maxBytes : 0, stepRows: cfg.retention.stepRows });
      } catch {
        n = 0; // e.g. the lock is held elsewhere: the next check tries again
      }
    }
    if (n > 0) setTimeout(step, 0);
    else pruning = false;
  };
  setTimeout(step, 0);
}
if (cfg.retention.maxAgeMs > 0 || cfg.retention.maxBytes > 0) {
  setInterval(startRetention, cfg.retention.checkEveryMs).unref();
  setTimeout(startRetention, 0);
}

/** A clean stop: write what can be written within closeTimeoutMs, then say what could not. */
async function close(lastSeq: number): Promise<void> {
  closing = true;
  if (retryTimer) clearTimeout(retryTimer);
  pending.add({ op: 'reserve', station: cfg.station, to: lastSeq, exact: true }, Date.now());
  pending.closeRange(Date.now());
  const deadline = Date.now() + cfg.closeTimeoutMs;
  let delay = cfg.retryMinMs;
  while (!flush() && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(cfg.retryMaxMs, delay * 2);
  }
  const unwritten = pending.waitingVerdicts + pending.unloggedTotal;
  const unwrittenMarks = pending.waitingMarks;
  try {
    store?.close();
  } catch {
    /* closing anyway */
  }
  post({ type: 'closed', unwritten, unwrittenMarks });
  port.close();
}

port.on('message', (msg: ToWriter) => {
  if (closing) return;
  if (msg.type === 'write') {
    const now = Date.now();
    let started = false;
    for (const w of msg.writes) if (pending.add(w, now) === 'unlogged-start') started = true;
    if (started) post({ type: 'storage', state: state() });
    scheduleFlush();
  } else if (msg.type === 'sync') {
    const written = fault ? false : flush();
    post({ type: 'synced', id: msg.id, written });
  } else if (msg.type === 'prune') {
    pruneCutoffMs = Math.max(pruneCutoffMs, msg.cutoffMs);
    startRetention();
  } else {
    void close(msg.lastSeq);
  }
});

post({ type: 'ready' });
