import type { VerdictMessage } from '../verdict/types.js';

/**
 * A durable output's cursor in the verdict log (VerdictRecorder.outbox(name)): the verdicts it has
 * not yet delivered, and where it marks them delivered. Each output has its own, so one being down
 * never makes another wait, re-send or lose.
 */
export interface Outbox {
  /** Durable verdicts this output owes, after a seq, in seq order. */
  unpublished(afterSeq: number, limit: number): VerdictMessage[];
  countUnpublished(): number;
  markPublished(seqs: readonly number[], at: number): void;
}

/**
 * Where verdicts go besides the log: MQTT today, Sparkplug B and OPC UA beside it later. The daemon
 * wires a list of these, never one by hand. Every method is called on the main thread and must not
 * block or throw: an output that cannot deliver keeps what it owes (durable outputs read it back
 * from the log) and says so in its own log lines.
 */
export interface VerdictOutput {
  readonly name: string;
  start(): void;
  /** A verdict the moment it is decided (its durable write is queued, not yet committed). */
  decided(msg: VerdictMessage): void;
  /** The log committed these verdicts and this output's own delivery marks: a backlog may now be read back. */
  committed(verdicts: readonly number[], delivered: readonly number[]): void;
  /** Whether the log is taking writes; an output that waits for commits must stop waiting when it is not. */
  storageHealthy(ok: boolean): void;
  /** Resolves true once everything owed is delivered, false at the timeout. */
  drain(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

/** The daemon's outputs as one: each call goes to every output, in the order they were given. */
export class Outputs {
  constructor(private readonly list: readonly VerdictOutput[]) {}

  start(): void {
    for (const o of this.list) o.start();
  }
  decided(msg: VerdictMessage): void {
    for (const o of this.list) o.decided(msg);
  }
  /** Each output hears of its own delivery marks only. */
  committed(verdicts: readonly number[], delivered: Readonly<Record<string, readonly number[]>>): void {
    for (const o of this.list) o.committed(verdicts, delivered[o.name] ?? []);
  }
  storageHealthy(ok: boolean): void {
    for (const o of this.list) o.storageHealthy(ok);
  }
  async drain(timeoutMs: number): Promise<boolean> {
    const all = await Promise.all(this.list.map((o) => o.drain(timeoutMs)));
    return all.every(Boolean);
  }
  async stop(): Promise<void> {
    for (const o of [...this.list].reverse()) await o.stop();
  }
}
