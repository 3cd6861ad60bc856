import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InspectdError } from '../errors.js';
import type { Decision, VerdictMessage } from '../verdict/types.js';
import { toMessage, VerdictStore, type NewVerdict, type StoreWrite } from './store.js';
import type { FromWriter, ToWriter, WriterConfig } from './writer-protocol.js';

function writerPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'writer-worker.js');
  const compiled = resolve(dirname(here), '../../dist/src/record/writer-worker.js');
  if (!existsSync(compiled)) throw new InspectdError('INSPECTD_STORE', `compiled writer ${compiled} is missing: run npm run build`);
  return compiled;
}

export interface RecorderEvents {
  /** Verdicts now durable (so publishable) and acknowledgements now written. */
  committed(verdicts: readonly number[], published: readonly number[]): void;
  /** A batch could not be written (disk full, I/O error): those verdicts are not in the log. */
  failed(message: string, lost: readonly number[]): void;
}

/**
 * The main thread's side of the verdict log. It allocates seq at once (the verdict message is
 * complete the moment it is decided) and hands the write to the writer thread; outputs publish
 * the message beside that write and read back from the log only what the broker did not take.
 * Reads (the outbox, counts) use a second, read-only connection: WAL readers never wait for or
 * cause an fsync.
 */
export class VerdictRecorder {
  private lastSeq: number;
  private closed = false;
  private nextSyncId = 1;
  private readonly syncs = new Map<number, () => void>();

  private constructor(
    private readonly station: string,
    private readonly worker: Worker,
    private readonly reader: VerdictStore,
    lastSeq: number,
    events: RecorderEvents,
  ) {
    this.lastSeq = lastSeq;
    worker.on('message', (msg: FromWriter) => {
      if (msg.type === 'committed') events.committed(msg.verdicts, msg.published);
      else if (msg.type === 'error') events.failed(msg.message, msg.lost);
      else if (msg.type === 'synced') {
        this.syncs.get(msg.id)?.();
        this.syncs.delete(msg.id);
      }
    });
    worker.on('error', (err) => events.failed(`verdict writer crashed: ${err.message}`, []));
  }

  static async open(opts: WriterConfig & { station: string }, events: RecorderEvents): Promise<VerdictRecorder> {
    // Create the file and schema, and read where seq stands, before the writer takes over.
    const setup = new VerdictStore({ path: opts.path, synchronous: opts.synchronous });
    const lastSeq = setup.lastSeq(opts.station);
    setup.close();
    const worker = new Worker(writerPath(), { workerData: { path: opts.path, synchronous: opts.synchronous } satisfies WriterConfig });
    await new Promise<void>((res, rej) => {
      worker.once('message', (m: FromWriter) => (m.type === 'ready' ? res() : rej(new InspectdError('INSPECTD_STORE', 'verdict writer failed to start'))));
      worker.once('error', (err) => rej(new InspectdError('INSPECTD_STORE', `verdict writer failed: ${err.message}`, { cause: err })));
    });
    const reader = new VerdictStore({ path: opts.path, readonly: true });
    return new VerdictRecorder(opts.station, worker, reader, lastSeq, events);
  }

  private send(writes: StoreWrite[]): void {
    if (this.closed) throw new InspectdError('INSPECTD_STORE', 'verdict log is closed');
    this.worker.postMessage({ type: 'write', writes } satisfies ToWriter);
  }

  /** Allocates the next seq and queues the durable write; the returned message is what will be published. */
  record(v: NewVerdict): VerdictMessage {
    const msg = toMessage(v, ++this.lastSeq);
    this.send([{ op: 'verdict', msg }]);
    return msg;
  }

  recordLate(seq: number, decision: Decision, decidedAt: number): void {
    this.send([{ op: 'late', station: this.station, seq, decision, decidedAt }]);
  }

  markPublished(seqs: readonly number[], at: number): void {
    this.send([{ op: 'published', station: this.station, seqs: [...seqs], at }]);
  }

  /** Durable, unacknowledged verdicts after a seq, in seq order. */
  unpublished(afterSeq: number, limit: number): VerdictMessage[] {
    return this.reader.unpublished(this.station, afterSeq, limit);
  }

  countUnpublished(): number {
    return this.reader.countUnpublished(this.station);
  }

  /** Retention: deletes acknowledged verdicts decided before the cutoff, on the writer thread. */
  prune(cutoffMs: number): void {
    this.send([{ op: 'prune', cutoffMs }]);
  }

  /** Resolves once every write handed over so far is committed: then the outbox is complete. */
  sync(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const id = this.nextSyncId++;
    return new Promise<void>((res) => {
      this.syncs.set(id, res);
      this.worker.postMessage({ type: 'sync', id } satisfies ToWriter);
    });
  }

  /** Writes everything queued, then closes both connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The writer closes last: the last connection to close checkpoints the WAL into the database
    // file, which a read-only connection cannot do.
    this.reader.close();
    await new Promise<void>((res) => {
      const t = setTimeout(() => void this.worker.terminate().then(() => res()), 10_000);
      this.worker.on('message', (m: FromWriter) => {
        if (m.type === 'closed') {
          clearTimeout(t);
          res();
        }
      });
      this.worker.postMessage({ type: 'close' } satisfies ToWriter);
    });
    await this.worker.terminate();
  }
}
