import type { StoreWrite } from './store.js';

export interface WriterConfig {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  station: string;
  /** The enabled durable outputs: each new verdict is owed to each (see store.ts). */
  outputs: readonly string[];
  /** How long one commit waits for another connection's lock before it counts as failed. */
  busyTimeoutMs: number;
  /** Verdicts kept in memory while storage fails; beyond it they are counted, not kept (see pending-writes.ts). */
  maxPendingVerdicts: number;
  /** Capped exponential back-off between retries of a failed batch. */
  retryMinMs: number;
  retryMaxMs: number;
  /** How long close() keeps retrying before it gives up and reports what it could not write. */
  closeTimeoutMs: number;
  /** Retention, run by the writer itself between commits (0 = off). */
  retention: { maxAgeMs: number; maxBytes: number; checkEveryMs: number; stepRows: number };
  /** Bench/test knob: each commit holds its transaction this long, as a slow disk would (0 = off). */
  slowCommitMs: number;
  /** The writer thread's nice value, set by the thread itself at start; undefined: inherited. */
  nice?: number;
}

/** What the log can do right now; sent on each change, not on each retry. */
export interface StorageState {
  ok: boolean;
  /** INSPECTD_STORE_FULL / _BUSY / _IO while failing, null when ok. */
  code: string | null;
  /** SQLite's message for the fault, null when ok. */
  message: string | null;
  /** Writes waiting for storage (verdicts, acknowledgements, late results, reservations), at the moment of the change. */
  pendingWrites: number;
  /** Verdicts of this run published but not kept for the log because the bound was reached (cumulative). */
  unloggedVerdicts: number;
  /** Epoch ms since which this state holds. */
  since: number;
}

export type ToWriter =
  | { type: 'write'; writes: StoreWrite[] }
  | { type: 'sync'; id: number }
  | { type: 'prune'; cutoffMs: number }
  /** lastSeq: the last seq handed out, to give back the unused reservation. */
  | { type: 'close'; lastSeq: number };

export type FromWriter =
  | { type: 'ready' }
  /** Durable now: the verdicts (by seq), and per output the seqs whose delivery mark was written. */
  | { type: 'committed'; verdicts: number[]; delivered: Record<string, number[]> }
  | { type: 'storage'; state: StorageState }
  /** written: everything sent before the sync with this id is in the log (false: storage is failing). */
  | { type: 'synced'; id: number; written: boolean }
  /** unwritten: verdicts of this run not in the log; unwrittenMarks: acknowledgements not written. */
  | { type: 'closed'; unwritten: number; unwrittenMarks: number };
