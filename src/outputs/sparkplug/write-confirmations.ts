import type { Outbox } from '../output.js';

/**
 * QoS 0 has no acknowledgement: a DDATA written just before the broker died (or the link dropped)
 * may never have been read. A write counts as delivered only once the connection has stayed up this
 * long after it; writes younger than this when the connection closes stay owed and go again, as
 * history, after the reconnect (a possible duplicate instead of a loss). Seen in
 * test/outputs/sparkplug.test.ts: a broker killed under load lost the last write without it.
 */
export const CONFIRM_MS = 1000;
/** How often writes old enough are marked delivered (one write to the log each time). */
const CHECK_MS = 200;

/** DDATA written to the socket, in write order, with when: marked delivered in the log once confirmed. */
export class WriteConfirmations {
  private written: { seq: number; at: number }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly outbox: Outbox,
    /** Whether the connection the writes went out on is still up. */
    private readonly connected: () => boolean,
  ) {}

  wrote(seq: number): void {
    this.written.push({ seq, at: Date.now() });
    this.timer ??= setTimeout(() => this.tick(), CHECK_MS);
  }

  /** The connection closed or the session ended: nothing unconfirmed counts as delivered; it is owed still. */
  forget(): void {
    this.written = [];
  }

  /** Marks delivered, in one write to the log, what was written by `upTo` on a connection still up. */
  confirm(upTo: number): void {
    if (!this.connected()) return;
    let n = 0;
    while (n < this.written.length && this.written[n]!.at <= upTo) n++;
    if (n === 0) return;
    const seqs = this.written.splice(0, n).map((w) => w.seq);
    this.outbox.markPublished(seqs, Date.now());
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    this.timer = undefined;
    this.confirm(Date.now() - CONFIRM_MS);
    if (this.written.length > 0) this.timer = setTimeout(() => this.tick(), CHECK_MS);
  }
}
