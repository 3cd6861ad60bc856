import type { StoreWrite } from './store.js';

export interface WriterConfig {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
}

export type ToWriter = { type: 'write'; writes: StoreWrite[] } | { type: 'sync'; id: number } | { type: 'close' };

export type FromWriter =
  | { type: 'ready' }
  /** Durable now: the verdicts and the publish acknowledgements, by seq. */
  | { type: 'committed'; verdicts: number[]; published: number[] }
  | { type: 'error'; message: string; lost: number[] }
  /** Everything sent before the sync with this id is committed (or reported failed). */
  | { type: 'synced'; id: number }
  | { type: 'closed' };
