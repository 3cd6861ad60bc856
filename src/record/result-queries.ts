import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { InspectdError } from '../errors.js';
import type { Defect, ModelInfo, VerdictKind, VerdictMessage } from '../verdict/types.js';
import { VERDICT_SCHEMA } from '../verdict/types.js';
import type { VerdictRow } from './store.js';

/**
 * The verdict log read as results, for OPC UA's ResultManagement (OPC 40100): one result by its
 * seq, and the station's results newest first by state and part, paged. A read-only connection of
 * its own (WAL: it never waits for the verdict writer, nor the writer for it), opened on the OPC UA
 * server's thread, so a client's query never takes the frame path's time; store.ts stays the
 * writer's and the operator page's.
 */
export interface ResultListQuery {
  station: string;
  /** Most rows returned. */
  limit: number;
  /** Rows to skip first, newest first (a client paging by StartIndex). */
  offset: number;
  /** Only these verdicts; empty: all. */
  verdicts: readonly VerdictKind[];
  /** Only this part's verdicts (exact). */
  partId?: string;
}

export class ResultLog {
  private readonly db: Database.Database;
  private readonly one;

  /** Throws INSPECTD_STORE when the log cannot be opened (not made yet, unreadable). */
  constructor(path: string) {
    const file = resolve(path);
    try {
      this.db = new Database(file, { readonly: true, fileMustExist: true });
      this.db.pragma('busy_timeout = 1000');
    } catch (err) {
      throw new InspectdError('INSPECTD_STORE', `cannot open verdict database ${file}: ${(err as Error).message}`, { cause: err });
    }
    this.one = this.db.prepare(`SELECT * FROM verdicts WHERE station = ? AND seq = ?`);
  }

  /** One result by its seq (the ResultReady event's ResultId), or undefined while it is not in the log. */
  byId(station: string, seq: number): VerdictRow | undefined {
    return this.one.get(station, seq) as VerdictRow | undefined;
  }

  /** The newest results matching, newest first: decided_at's index walked backwards, stopping at limit + offset rows. */
  list(q: ResultListQuery): VerdictRow[] {
    const where = ['station = @station'];
    if (q.partId !== undefined) where.push('part_id = @partId');
    if (q.verdicts.length > 0) where.push(`verdict IN (${q.verdicts.map((_, i) => `@v${i}`).join(', ')})`);
    const params: Record<string, unknown> = { station: q.station, limit: q.limit, offset: q.offset, partId: q.partId };
    q.verdicts.forEach((v, i) => (params[`v${i}`] = v));
    return this.db.prepare(`SELECT * FROM verdicts INDEXED BY verdicts_decided WHERE ${where.join(' AND ')} ORDER BY decided_at DESC, seq DESC LIMIT @limit OFFSET @offset`).all(params) as VerdictRow[];
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** A stored row as the MQTT payload (docs/contracts.md): what GetResultById, reports and the CLI show. */
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
  if (row.source !== null && row.source !== undefined) msg.source = row.source;
  return msg;
}

