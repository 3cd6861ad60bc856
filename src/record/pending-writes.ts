import type { StoreWrite, UnloggedRange } from './store.js';

type VerdictWrite = Extract<StoreWrite, { op: 'verdict' }>;

/**
 * The writer's queue of writes not yet in the log, in the order they were made: a batch that fails
 * stays at the head and is retried as it was, new writes queue behind it, so a verdict's insert
 * always lands before a later write about the same seq.
 *
 * Bound: at most `maxVerdicts` verdict inserts wait. While storage fails that long, further verdicts
 * (already published, since publishing does not wait for the log) are not kept: they are counted as
 * one range per run of consecutive seqs, and the range itself is written to `unlogged_ranges` in
 * order once storage returns, so the log says exactly which seqs it lacks. Acknowledgements, late
 * results and reservations are always kept (each is bounded by the verdicts it refers to).
 *
 * A delivery mark (an output's acknowledgement) for a verdict whose insert is still waiting is folded
 * into that insert (the row written as already delivered to that output), which halves what a long
 * fault keeps in memory.
 */
export class PendingWrites {
  private queue: StoreWrite[] = [];
  private readonly waiting = new Map<number, VerdictWrite>();
  private openRange: UnloggedRange | undefined;
  /** Verdicts of this run not kept because the bound was reached (cumulative). */
  unloggedTotal = 0;

  constructor(private readonly maxVerdicts: number) {}

  get length(): number {
    return this.queue.length;
  }

  /** Writes waiting, counting each acknowledged seq in a mark as one. */
  get pendingWrites(): number {
    return this.queue.reduce((n, w) => n + (w.op === 'published' ? w.seqs.length : 1), 0);
  }

  get waitingVerdicts(): number {
    return this.waiting.size;
  }

  /** Acknowledgements not yet written: marks, and acknowledgements folded into waiting inserts. */
  get waitingMarks(): number {
    let n = 0;
    for (const w of this.queue) {
      if (w.op === 'published') n += w.seqs.length;
      else if (w.op === 'verdict' && w.delivered) n += Object.keys(w.delivered).length;
    }
    return n;
  }

  /** Queues a write; returns 'unlogged-start' when this verdict opened a new unlogged range. */
  add(w: StoreWrite, now: number): 'kept' | 'unlogged' | 'unlogged-start' {
    if (w.op === 'verdict') return this.addVerdict(w, now);
    if (w.op === 'published') {
      const rest: number[] = [];
      for (const seq of w.seqs) {
        const insert = this.waiting.get(seq);
        if (insert && insert.msg.station === w.station) (insert.delivered ??= {})[w.output] ??= w.at;
        else rest.push(seq);
      }
      if (rest.length > 0) this.queue.push({ ...w, seqs: rest });
      return 'kept';
    }
    const last = this.queue[this.queue.length - 1];
    if (w.op === 'reserve' && !w.exact && last?.op === 'reserve' && !last.exact && last.station === w.station) {
      // Reservations only ever grow: one pending reservation per station is enough.
      last.to = Math.max(last.to, w.to);
      return 'kept';
    }
    this.queue.push(w);
    return 'kept';
  }

  private addVerdict(w: VerdictWrite, now: number): 'kept' | 'unlogged' | 'unlogged-start' {
    const { msg } = w;
    if (this.waiting.size >= this.maxVerdicts) {
      this.unloggedTotal++;
      const r = this.openRange;
      if (r && r.station === msg.station && r.lastSeq + 1 === msg.seq) {
        r.lastSeq = msg.seq;
        r.verdicts++;
        r.lastDecidedAt = msg.decidedAt;
        return 'unlogged';
      }
      this.closeRange(now);
      this.openRange = { station: msg.station, firstSeq: msg.seq, lastSeq: msg.seq, verdicts: 1, firstDecidedAt: msg.decidedAt, lastDecidedAt: msg.decidedAt };
      return 'unlogged-start';
    }
    this.closeRange(now);
    this.queue.push(w);
    this.waiting.set(msg.seq, w);
    return 'kept';
  }

  /** Ends the current unlogged range: its marker is queued behind the writes before it. */
  closeRange(now: number): void {
    if (!this.openRange) return;
    this.queue.push({ op: 'unlogged', range: this.openRange, at: now });
    this.openRange = undefined;
  }

  /** The next batch, left in place until commit() says it is written. */
  head(max: number): StoreWrite[] {
    return this.queue.slice(0, max);
  }

  /** The first n writes are in the log. */
  commit(n: number): void {
    for (const w of this.queue.splice(0, n)) if (w.op === 'verdict') this.waiting.delete(w.msg.seq);
  }
}

/** What a committed batch made durable, as the recorder reports it: verdicts, and each output's delivery marks. */
export function batchSummary(batch: readonly StoreWrite[]): { verdicts: number[]; delivered: Record<string, number[]> } {
  const verdicts: number[] = [];
  const delivered: Record<string, number[]> = {};
  for (const w of batch) {
    if (w.op === 'verdict') {
      verdicts.push(w.msg.seq);
      for (const output of Object.keys(w.delivered ?? {})) (delivered[output] ??= []).push(w.msg.seq);
    } else if (w.op === 'published') {
      (delivered[w.output] ??= []).push(...w.seqs);
    }
  }
  return { verdicts, delivered };
}
