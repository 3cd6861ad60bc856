import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { InspectdError } from '../errors.js';
import type { Decision, Defect, ModelInfo, VerdictKind, VerdictMessage } from '../verdict/types.js';
import { VERDICT_SCHEMA } from '../verdict/types.js';

/**
 * The verdict log and the MQTT outbox in one SQLite file. A verdict is durable (and has its seq)
 * before anything is published; a row whose published_at is NULL is re-sent after a broker outage
 * or a restart, so no verdict is lost between decision and PLC.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS seq_counter (
  station TEXT PRIMARY KEY,
  last_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS verdicts (
  station       TEXT    NOT NULL,
  seq           INTEGER NOT NULL,
  camera        TEXT    NOT NULL,
  frame_id      INTEGER NOT NULL,
  part_id       TEXT,
  verdict       TEXT    NOT NULL CHECK (verdict IN ('PASS','FAIL','TIMEOUT','ERROR')),
  score         REAL,
  defects       TEXT    NOT NULL,
  captured_at   INTEGER NOT NULL,
  decided_at    INTEGER NOT NULL,
  latency_ms    REAL    NOT NULL,
  deadline_ms   REAL    NOT NULL,
  model         TEXT    NOT NULL,
  error_code    TEXT,
  error_message TEXT,
  late_verdict    TEXT,
  late_score      REAL,
  late_defects    TEXT,
  late_decided_at INTEGER,
  published_at  INTEGER,
  PRIMARY KEY (station, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS verdicts_unpublished ON verdicts (station, seq) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS verdicts_frame ON verdicts (camera, frame_id);
CREATE INDEX IF NOT EXISTS verdicts_decided ON verdicts (decided_at);
`;

/** A row as stored: the MQTT payload plus what only the log keeps. */
export interface VerdictRow {
  station: string;
  seq: number;
  camera: string;
  frame_id: number;
  part_id: string | null;
  verdict: VerdictKind;
  score: number | null;
  defects: string;
  captured_at: number;
  decided_at: number;
  latency_ms: number;
  deadline_ms: number;
  model: string;
  error_code: string | null;
  error_message: string | null;
  late_verdict: VerdictKind | null;
  late_score: number | null;
  late_defects: string | null;
  late_decided_at: number | null;
  published_at: number | null;
}

export interface NewVerdict {
  station: string;
  camera: string;
  frameId: number;
  partId: string | null;
  decision: Decision;
  capturedAt: number;
  decidedAt: number;
  deadlineMs: number;
  model: ModelInfo;
}

export function rowToMessage(row: VerdictRow): VerdictMessage {
  const msg: VerdictMessage = {
    schema: VERDICT_SCHEMA,
    seq: row.seq,
    station: row.station,
    camera: row.camera,
    frameId: row.frame_id,
    partId: row.part_id,
    verdict: row.verdict,
    score: row.score,
    defects: JSON.parse(row.defects) as Defect[],
    capturedAt: row.captured_at,
    decidedAt: row.decided_at,
    latencyMs: row.latency_ms,
    deadlineMs: row.deadline_ms,
    model: JSON.parse(row.model) as ModelInfo,
  };
  if (row.error_code !== null) msg.error = { code: row.error_code, message: row.error_message ?? '' };
  return msg;
}

/** The payload for a new verdict once its seq is known: what is written and what is published. */
export function toMessage(v: NewVerdict, seq: number): VerdictMessage {
  const msg: VerdictMessage = {
    schema: VERDICT_SCHEMA,
    seq,
    station: v.station,
    camera: v.camera,
    frameId: v.frameId,
    partId: v.partId,
    verdict: v.decision.verdict,
    score: v.decision.score,
    defects: v.decision.defects,
    capturedAt: v.capturedAt,
    decidedAt: v.decidedAt,
    latencyMs: v.decidedAt - v.capturedAt,
    deadlineMs: v.deadlineMs,
    model: v.model,
  };
  if (v.decision.error) msg.error = { code: v.decision.error.code, message: v.decision.error.message };
  return msg;
}

/** One write, as the recorder's writer thread receives them; applied in batches, one transaction each. */
export type StoreWrite =
  | { op: 'verdict'; msg: VerdictMessage }
  | { op: 'late'; station: string; seq: number; decision: Decision; decidedAt: number }
  | { op: 'published'; station: string; seqs: number[]; at: number }
  | { op: 'prune'; cutoffMs: number };

export interface StoreOptions {
  path: string;
  synchronous?: 'FULL' | 'NORMAL';
  readonly?: boolean;
}

export class VerdictStore {
  private readonly db: Database.Database;
  private readonly applyTx: (writes: readonly StoreWrite[]) => void;
  private readonly stmts;

  constructor(opts: StoreOptions) {
    const path = resolve(opts.path);
    try {
      if (!opts.readonly) mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
      if (!opts.readonly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
        this.db.exec(SCHEMA);
      }
      this.db.pragma('busy_timeout = 5000');
    } catch (err) {
      throw new InspectdError('INSPECTD_STORE', `cannot open verdict database ${path}: ${(err as Error).message}`, { cause: err });
    }
    const db = this.db;
    this.stmts = opts.readonly
      ? undefined
      : {
          insert: db.prepare(
            `INSERT INTO verdicts (station, seq, camera, frame_id, part_id, verdict, score, defects, captured_at,
               decided_at, latency_ms, deadline_ms, model, error_code, error_message)
             VALUES (@station, @seq, @camera, @frame_id, @part_id, @verdict, @score, @defects, @captured_at,
               @decided_at, @latency_ms, @deadline_ms, @model, @error_code, @error_message)`,
          ),
          raiseSeq: db.prepare(
            `INSERT INTO seq_counter (station, last_seq) VALUES (?, ?)
             ON CONFLICT (station) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)`,
          ),
          late: db.prepare(
            `UPDATE verdicts SET late_verdict = ?, late_score = ?, late_defects = ?, late_decided_at = ?
             WHERE station = ? AND seq = ?`,
          ),
          published: db.prepare(`UPDATE verdicts SET published_at = ? WHERE station = ? AND seq = ? AND published_at IS NULL`),
        };
    this.applyTx = db.transaction((writes: readonly StoreWrite[]) => {
      for (const w of writes) {
        if (w.op === 'verdict') {
          this.insertMessage(w.msg);
          this.stmts!.raiseSeq.run(w.msg.station, w.msg.seq);
        } else if (w.op === 'late') {
          this.stmts!.late.run(w.decision.verdict, w.decision.score, JSON.stringify(w.decision.defects), w.decidedAt, w.station, w.seq);
        } else if (w.op === 'published') {
          for (const seq of w.seqs) this.stmts!.published.run(w.at, w.station, seq);
        } else {
          this.deleteOlderThan(w.cutoffMs);
        }
      }
    });
  }

  private insertMessage(msg: VerdictMessage): void {
    this.stmts!.insert.run({
      station: msg.station,
      seq: msg.seq,
      camera: msg.camera,
      frame_id: msg.frameId,
      part_id: msg.partId,
      verdict: msg.verdict,
      score: msg.score,
      defects: JSON.stringify(msg.defects),
      captured_at: msg.capturedAt,
      decided_at: msg.decidedAt,
      latency_ms: msg.latencyMs,
      deadline_ms: msg.deadlineMs,
      model: JSON.stringify(msg.model),
      error_code: msg.error?.code ?? null,
      error_message: msg.error?.message ?? null,
    });
  }

  /**
   * Writes a batch in one transaction (one fsync): verdicts with seqs the caller allocated, late
   * results, publish acknowledgements. All or nothing.
   */
  apply(writes: readonly StoreWrite[]): void {
    if (writes.length === 0) return;
    try {
      this.applyTx(writes);
    } catch (err) {
      throw new InspectdError('INSPECTD_STORE', `cannot write verdicts: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The last seq allocated for a station (0 when none). */
  lastSeq(station: string): number {
    const r = this.db.prepare('SELECT last_seq FROM seq_counter WHERE station = ?').get(station) as { last_seq: number } | undefined;
    return r?.last_seq ?? 0;
  }

  /**
   * Single-writer conveniences over apply() (tools and tests; the daemon batches through its writer
   * thread): the next seq and the verdict in one transaction.
   */
  record(v: NewVerdict): VerdictMessage {
    const msg = toMessage(v, this.lastSeq(v.station) + 1);
    this.apply([{ op: 'verdict', msg }]);
    return msg;
  }

  /** Keeps the result that arrived after its frame was already given TIMEOUT. */
  recordLate(station: string, seq: number, decision: Decision, decidedAt: number): void {
    this.apply([{ op: 'late', station, seq, decision, decidedAt }]);
  }

  markPublished(station: string, seqs: readonly number[], at: number): void {
    this.apply([{ op: 'published', station, seqs: [...seqs], at }]);
  }

  unpublished(station: string, afterSeq: number, limit: number): VerdictMessage[] {
    const rows = this.db
      .prepare(`SELECT * FROM verdicts WHERE station = ? AND published_at IS NULL AND seq > ? ORDER BY seq LIMIT ?`)
      .all(station, afterSeq, limit) as VerdictRow[];
    return rows.map(rowToMessage);
  }

  countUnpublished(station: string): number {
    const r = this.db.prepare(`SELECT COUNT(*) AS n FROM verdicts WHERE station = ? AND published_at IS NULL`).get(station) as {
      n: number;
    };
    return r.n;
  }

  /** Rows in seq order for `inspectd verdicts`; all stations unless one is named. */
  list(opts: { afterSeq?: number; limit?: number; station?: string }): VerdictRow[] {
    const where = ['seq > @after'];
    if (opts.station) where.push('station = @station');
    return this.db
      .prepare(`SELECT * FROM verdicts WHERE ${where.join(' AND ')} ORDER BY station, seq LIMIT @limit`)
      .all({ after: opts.afterSeq ?? 0, station: opts.station, limit: opts.limit ?? -1 }) as VerdictRow[];
  }

  /** Deletes acknowledged verdicts decided before the cutoff; unpublished ones are never deleted. */
  deleteOlderThan(cutoffMs: number): number {
    return this.db.prepare(`DELETE FROM verdicts WHERE decided_at < ? AND published_at IS NOT NULL`).run(cutoffMs).changes;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
