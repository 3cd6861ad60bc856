import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import { InspectdError } from '../errors.js';
import type { Decision, VerdictMessage } from '../verdict/types.js';
import { LogLock } from './log-lock.js';
import type { Outbox } from '../outputs/output.js';
import { MQTT_OUTPUT, toMessage, VerdictStore, type NewVerdict, type RecentQuery, type ReviewMark, type StoreWrite, type VerdictRow } from './store.js';
import type { FromWriter, StorageState, ToWriter, WriterConfig } from './writer-protocol.js';

export type { StorageState } from './writer-protocol.js';

function writerPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'writer-worker.js');
  const compiled = resolve(dirname(here), '../../dist/src/record/writer-worker.js');
  if (!existsSync(compiled)) throw new InspectdError('INSPECTD_STORE', `compiled writer ${compiled} is missing: run npm run build`);
  return compiled;
}

export interface RecorderEvents {
  /** Verdicts now durable, and per output the seqs whose delivery mark is now written. */
  committed(verdicts: readonly number[], delivered: Readonly<Record<string, readonly number[]>>): void;
  /** The log's state changed: a fault began, changed kind, cleared, or the bound began to drop verdicts. */
  storage?(state: StorageState): void;
}

export interface RecorderOptions {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  station: string;
  /** The enabled durable outputs, each with its own cursor in the log (default: MQTT only). */
  outputs?: readonly string[];
  /** A write waits this long for another connection's lock before it counts as failed (default 5000). */
  busyTimeoutMs?: number;
  /** Verdicts kept in memory while storage fails (default 50,000); see pending-writes.ts for what happens beyond. */
  maxPendingVerdicts?: number;
  /** Seqs reserved ahead of use (default 10,000; renewed when half is used): the most a crash can skip. */
  seqBlock?: number;
  /** Retention: acknowledged verdicts older than this are deleted (0 = keep). */
  retentionDays?: number;
  /** Retention: the oldest acknowledged verdicts are deleted while the log's used size exceeds this (0 = no limit). */
  maxSizeMb?: number;
  /** How long close() keeps retrying a failing log before it reports what it could not write (default 5000). */
  closeTimeoutMs?: number;
  /** Bench/test knob: every commit takes at least this long, like a slow SD card (default 0). */
  slowCommitMs?: number;
  /** The writer thread's nice value (config storage.writerNice); undefined leaves it as inherited. */
  writerNice?: number;
  /** Writes are gathered this long before one handover to the writer (config storage.handoverMs); 0: after each turn of the event loop. */
  handoverMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  retentionCheckMs?: number;
  retentionStepRows?: number;
}

/**
 * The verdict log config asks for, with the durable outputs (each keeps its own cursor; retention
 * waits for all of them). Retention runs on the writer thread, in small steps (retention.ts).
 */
export function verdictLogOptions(cfg: Config, outputs: readonly string[]): RecorderOptions {
  return {
    path: cfg.storage.path,
    synchronous: cfg.storage.synchronous,
    station: cfg.station,
    outputs,
    retentionDays: cfg.storage.retentionDays,
    maxSizeMb: cfg.storage.maxSizeMb,
    maxPendingVerdicts: cfg.storage.maxPendingVerdicts,
    ...writerNice(cfg),
    handoverMs: cfg.storage.handoverMs ?? 0,
  };
}


/** Off the PLC's path (on-decision) the writer yields to the line by default; after-commit it is on that path. */
function writerNice(cfg: Config): { writerNice?: number } {
  const nice = cfg.storage.writerNice ?? (cfg.mqtt.publishMode === 'on-decision' ? DEFAULT_WRITER_NICE : undefined);
  return nice === undefined ? {} : { writerNice: nice };
}
const DEFAULT_WRITER_NICE = 10;

/** What a clean stop could not do: verdicts of this run not in the log, acknowledgements not written. */
export interface CloseResult {
  unwritten: number;
  unwrittenMarks: number;
}

const OK_STATE: StorageState = { ok: true, code: null, message: null, pendingWrites: 0, unloggedVerdicts: 0, since: 0 };

/**
 * The main thread's side of the verdict log. It hands out seq at once (the verdict message is
 * complete the moment it is decided, and can be published at once) from a range already committed
 * as reserved: the next block is reserved, through the writer, when half of the current one is
 * used, so a crash between publish and commit leaves a gap, never a reused seq. The writer thread
 * commits and retries; this thread never waits for the disk. Reads (the outbox, counts) use a
 * second, read-only connection: WAL readers never wait for or cause an fsync.
 *
 * When a reservation cannot be committed (storage failing), seqs go on being handed out past the
 * durable reservation (the line does not stop) while the reservation is retried first in the queue;
 * only a crash during such a fault, after half a block was used in it, could reuse seqs.
 */
export class VerdictRecorder {
  private lastSeq: number;
  /** The reservation asked of the writer (durable once the writer has committed it). */
  private reservedTo: number;
  private closed = false;
  private nextSyncId = 1;
  private recorded = 0;
  private committedCount = 0;
  private state: StorageState = { ...OK_STATE, since: Date.now() };
  private readonly syncs = new Map<number, (written: boolean) => void>();
  private closing: Promise<CloseResult> | undefined;

  private constructor(
    private readonly station: string,
    private readonly worker: Worker,
    private readonly reader: VerdictStore,
    private readonly lock: LogLock,
    private readonly block: number,
    private readonly closeTimeoutMs: number,
    lastSeq: number,
    events: RecorderEvents,
    private readonly handoverMs: number,
  ) {
    this.lastSeq = lastSeq;
    this.reservedTo = lastSeq + block;
    worker.on('message', (msg: FromWriter) => {
      if (msg.type === 'committed') {
        this.committedCount += msg.verdicts.length;
        // Once close() has begun the reader is closed and the outputs are stopped: nothing to tell them.
        if (!this.closed) events.committed(msg.verdicts, msg.delivered);
      } else if (msg.type === 'storage') {
        this.state = msg.state;
        events.storage?.(msg.state);
      } else if (msg.type === 'synced') {
        this.syncs.get(msg.id)?.(msg.written);
        this.syncs.delete(msg.id);
      }
    });
    worker.on('error', (err) => {
      this.state = { ...this.state, ok: false, code: 'INSPECTD_STORE_IO', message: `verdict writer crashed: ${err.message}`, since: Date.now() };
      events.storage?.(this.state);
    });
  }

  static async open(opts: RecorderOptions, events: RecorderEvents): Promise<VerdictRecorder> {
    const path = resolve(opts.path);
    mkdirSync(dirname(path), { recursive: true });
    const block = Math.max(2, opts.seqBlock ?? 10_000);
    // One daemon per log: refused here, before the second one reads where seq stands.
    const lock = LogLock.acquire(path);
    try {
      // Checks and migrates the file, and reads where seq stands, before the writer takes over.
      const setup = new VerdictStore({ path, synchronous: opts.synchronous, busyTimeoutMs: opts.busyTimeoutMs });
      const lastSeq = setup.lastSeq(opts.station);
      let reserved = true;
      try {
        setup.apply([{ op: 'reserve', station: opts.station, to: lastSeq + block }]);
      } catch {
        reserved = false; // storage failing at start: the writer retries it first (see above)
      } finally {
        setup.close();
      }
      const worker = await startWriter({
        path,
        synchronous: opts.synchronous,
        station: opts.station,
        outputs: opts.outputs ?? [MQTT_OUTPUT],
        busyTimeoutMs: opts.busyTimeoutMs ?? 5000,
        maxPendingVerdicts: opts.maxPendingVerdicts ?? 50_000,
        retryMinMs: opts.retryMinMs ?? 50,
        retryMaxMs: opts.retryMaxMs ?? 2000,
        closeTimeoutMs: opts.closeTimeoutMs ?? 5000,
        retention: {
          maxAgeMs: (opts.retentionDays ?? 0) * 86_400_000,
          maxBytes: (opts.maxSizeMb ?? 0) * 1024 * 1024,
          checkEveryMs: opts.retentionCheckMs ?? 60_000,
          stepRows: opts.retentionStepRows ?? 2_000,
        },
        slowCommitMs: opts.slowCommitMs ?? 0,
        ...(opts.writerNice === undefined ? {} : { nice: opts.writerNice }),
      });
      const reader = new VerdictStore({ path, readonly: true });
      const rec = new VerdictRecorder(opts.station, worker, reader, lock, block, opts.closeTimeoutMs ?? 5000, lastSeq, events, opts.handoverMs ?? 0);
      if (!reserved) rec.send([{ op: 'reserve', station: opts.station, to: rec.reservedTo }]);
      return rec;
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /** Writes not yet handed over, posted to the writer together (after this turn, or handoverMs). */
  private queued: StoreWrite[] = [];
  private handoverScheduled = false;
  private handoverTimer: NodeJS.Timeout | undefined;

  /**
   * Queues writes for the writer thread; they are posted once the current turn of the event loop is
   * done. A verdict is recorded the moment it is decided, and posting wakes the writer at once: on a
   * 2-core box that woken thread took the CPU from the main thread before the verdict's publish had
   * reached the socket, or from the inference worker (the profile showed ~0.4 ms wall per post at
   * 60 fps). Posted after the turn, the verdict is on the wire and the next frame is running first; the
   * order of writes is kept, and a crash in between loses no more than one that comes before the commit.
   * With handoverMs the writes of that many ms go together (one commit for several frames' verdicts
   * and their acknowledgements); a crash then loses at most those too, never a seq (reserved ahead).
   */
  private send(writes: StoreWrite[]): void {
    if (this.closed) throw new InspectdError('INSPECTD_STORE', 'verdict log is closed');
    for (const w of writes) this.queued.push(w);
    if (this.handoverScheduled) return;
    this.handoverScheduled = true;
    if (this.handoverMs > 0) this.handoverTimer = setTimeout(this.handOver, this.handoverMs);
    else setImmediate(this.handOver);
  }

  private readonly handOver = (): void => {
    this.handoverScheduled = false;
    if (this.handoverTimer) clearTimeout(this.handoverTimer);
    this.handoverTimer = undefined;
    if (this.queued.length === 0) return;
    const writes = this.queued;
    this.queued = [];
    this.worker.postMessage({ type: 'write', writes } satisfies ToWriter);
  };

  /** Hands out the next seq and queues the durable write; the returned message can be published at once. */
  record(v: NewVerdict): VerdictMessage {
    if (this.closed) throw new InspectdError('INSPECTD_STORE', 'verdict log is closed');
    const msg = toMessage(v, ++this.lastSeq);
    const writes: StoreWrite[] = [];
    if (msg.seq > this.reservedTo - this.block / 2) {
      // A block ahead of this seq: whatever a crash leaves unused is at most one block.
      this.reservedTo = msg.seq + this.block;
      writes.push({ op: 'reserve', station: this.station, to: this.reservedTo });
    }
    writes.push({ op: 'verdict', msg });
    this.send(writes);
    this.recorded++;
    return msg;
  }

  recordLate(seq: number, decision: Decision, decidedAt: number): void {
    this.send([{ op: 'late', station: this.station, seq, decision, decidedAt }]);
  }

  /** A reviewer's mark on a verdict, written like any other write (in order, retried on a storage fault). */
  review(seq: number, mark: ReviewMark, at: number): void {
    this.send([{ op: 'review', station: this.station, seq, mark, at }]);
  }

  /** Reads for the operator page, on the read-only connection (never waits for a commit). */
  get(seq: number): VerdictRow | undefined {
    return this.reader.get(this.station, seq);
  }

  recent(q: Omit<RecentQuery, 'station'>): VerdictRow[] {
    return this.reader.recent({ ...q, station: this.station });
  }

  countsSince(since: number, bucketMs: number): ReturnType<VerdictStore['countsSince']> {
    return this.reader.countsSince(this.station, since, bucketMs);
  }

  /** One output's cursor in the log: its backlog, and its delivery marks. */
  outbox(output: string): Outbox {
    return {
      unpublished: (afterSeq, limit) => this.reader.unpublished(this.station, afterSeq, limit, output),
      countUnpublished: () => this.reader.countUnpublished(this.station, output),
      markPublished: (seqs, at) => this.send([{ op: 'published', output, station: this.station, seqs: [...seqs], at }]),
    };
  }

  /** The MQTT output's marks (what tools and tests read; the daemon goes through outbox()). */
  markPublished(seqs: readonly number[], at: number): void {
    this.outbox(MQTT_OUTPUT).markPublished(seqs, at);
  }

  /** Durable verdicts the MQTT output has not delivered, after a seq, in seq order. */
  unpublished(afterSeq: number, limit: number): VerdictMessage[] {
    return this.reader.unpublished(this.station, afterSeq, limit, MQTT_OUTPUT);
  }

  countUnpublished(output = MQTT_OUTPUT): number {
    return this.reader.countUnpublished(this.station, output);
  }

  /** The log's state as last reported by the writer. */
  storageState(): StorageState {
    return this.state;
  }

  /** Retention now: acknowledged verdicts decided before the cutoff, deleted in small steps on the writer thread. */
  prune(cutoffMs: number): void {
    if (this.closed) throw new InspectdError('INSPECTD_STORE', 'verdict log is closed');
    this.handOver();
    this.worker.postMessage({ type: 'prune', cutoffMs } satisfies ToWriter);
  }

  /**
   * Resolves true once every write handed over so far is committed (then the outbox is complete),
   * false at once while storage is failing (the writes are kept and retried; this does not wait).
   */
  sync(): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    const id = this.nextSyncId++;
    return new Promise<boolean>((res) => {
      this.syncs.set(id, res);
      this.handOver();
      this.worker.postMessage({ type: 'sync', id } satisfies ToWriter);
    });
  }

  /** Writes everything queued (retrying up to closeTimeoutMs), closes both connections and the lock. */
  close(): Promise<CloseResult> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<CloseResult> {
    this.handOver();
    this.closed = true;
    // The writer closes last: the last connection to close checkpoints the WAL into the database
    // file, which a read-only connection cannot do.
    this.reader.close();
    // If the writer never answers, what it reported committed is all this thread knows was written.
    const fallback: CloseResult = { unwritten: this.recorded - this.committedCount, unwrittenMarks: 0 };
    const result = await new Promise<CloseResult>((res) => {
      const t = setTimeout(() => res(fallback), this.closeTimeoutMs + 10_000);
      this.worker.on('message', (m: FromWriter) => {
        if (m.type === 'closed') {
          clearTimeout(t);
          res({ unwritten: m.unwritten, unwrittenMarks: m.unwrittenMarks });
        }
      });
      this.worker.postMessage({ type: 'close', lastSeq: this.lastSeq } satisfies ToWriter);
    });
    await this.worker.terminate();
    for (const res of this.syncs.values()) res(false);
    this.syncs.clear();
    // Only now may another daemon take the log: nothing of ours writes to it any more.
    this.lock.release();
    return result;
  }
}

async function startWriter(cfg: WriterConfig): Promise<Worker> {
  const worker = new Worker(writerPath(), { workerData: cfg });
  await new Promise<void>((res, rej) => {
    worker.once('message', (m: FromWriter) => (m.type === 'ready' ? res() : rej(new InspectdError('INSPECTD_STORE', 'verdict writer failed to start'))));
    worker.once('error', (err) => rej(new InspectdError('INSPECTD_STORE', `verdict writer failed: ${err.message}`, { cause: err })));
  });
  return worker;
}
