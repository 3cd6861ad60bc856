import type Database from 'better-sqlite3';

/**
 * Retention in small steps. Four cameras at 30 fps log about 10 million verdicts a day, so one
 * DELETE of a day's rows would hold the writer (and every verdict queued behind it) for seconds;
 * instead each step deletes at most `stepRows` rows in its own transaction and the writer commits
 * queued verdicts between steps. A verdict some enabled output has not yet delivered (a row in the
 * outbox) is never deleted, whatever its age and however full the log. An output that was disabled
 * keeps its backlog rows but holds nothing back: they go with their verdicts (a trigger, schema.ts).
 */
export interface RetentionStep {
  /** Delete acknowledged verdicts decided before this (epoch ms); 0 = no age limit. */
  cutoffMs: number;
  /** Delete the oldest acknowledged verdicts while the log's used pages exceed this; 0 = no size limit. */
  maxBytes: number;
  stepRows: number;
  /** The enabled durable outputs: a verdict any of them still owes is kept. */
  outputs: readonly string[];
}

/**
 * Size-based retention stops a little under the limit, so that it runs in bursts rather than a step
 * per commit once the log is full. SQLite reuses freed pages, so the file stops growing at about
 * maxBytes (plus the WAL); it never shrinks (that would need a VACUUM, which stalls the writer).
 */
const SIZE_LOW_WATER = 0.95;

export function usedBytes(db: Database.Database): number {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  return (pages - free) * pageSize;
}

type Statements = { byAge: Database.Statement; oldest: Database.Statement };
const statements = new WeakMap<Database.Database, Map<string, Statements>>();

function stmts(db: Database.Database, outputs: readonly string[]): Statements {
  let perDb = statements.get(db);
  if (!perDb) statements.set(db, (perDb = new Map()));
  const key = JSON.stringify(outputs);
  let s = perDb.get(key);
  if (!s) {
    // The outputs are names from the code (mqtt, sparkplug), never from outside: quoted as SQL literals.
    const list = outputs.map((o) => `'${o.replaceAll("'", "''")}'`).join(', ');
    // A PK probe of the outbox per candidate row; the outbox holds only the backlog.
    const delivered = outputs.length === 0 ? '1' : `NOT EXISTS (SELECT 1 FROM outbox o WHERE o.station = v.station AND o.seq = v.seq AND o.output IN (${list}))`;
    s = {
      // Through the decided_at index; the LIMIT bounds the work of one step.
      byAge: db.prepare(
        `DELETE FROM verdicts WHERE (station, seq) IN
           (SELECT station, seq FROM verdicts v WHERE decided_at < ? AND ${delivered} ORDER BY decided_at LIMIT ?)`,
      ),
      oldest: db.prepare(
        `DELETE FROM verdicts WHERE (station, seq) IN
           (SELECT station, seq FROM verdicts v WHERE ${delivered} ORDER BY decided_at LIMIT ?)`,
      ),
    };
    perDb.set(key, s);
  }
  return s;
}

/** One step: deletes by age first, then by size; returns the rows deleted (0 = nothing left to do). */
export function retentionStep(db: Database.Database, step: RetentionStep): number {
  const s = stmts(db, step.outputs);
  if (step.cutoffMs > 0) {
    const n = s.byAge.run(step.cutoffMs, step.stepRows).changes;
    if (n > 0) return n;
  }
  if (step.maxBytes > 0 && usedBytes(db) > step.maxBytes * SIZE_LOW_WATER) {
    return s.oldest.run(step.stepRows).changes;
  }
  return 0;
}

/** Whether size-based retention should start (it then runs down to the low-water mark). */
export function overSize(db: Database.Database, maxBytes: number): boolean {
  return maxBytes > 0 && usedBytes(db) > maxBytes;
}
