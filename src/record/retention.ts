import type Database from 'better-sqlite3';

/**
 * Retention in small steps. Four cameras at 30 fps log about 10 million verdicts a day, so one
 * DELETE of a day's rows would hold the writer (and every verdict queued behind it) for seconds;
 * instead each step deletes at most `stepRows` rows in its own transaction and the writer commits
 * queued verdicts between steps. A verdict not yet acknowledged by the broker (published_at NULL)
 * is never deleted, whatever its age and however full the log.
 */
export interface RetentionStep {
  /** Delete acknowledged verdicts decided before this (epoch ms); 0 = no age limit. */
  cutoffMs: number;
  /** Delete the oldest acknowledged verdicts while the log's used pages exceed this; 0 = no size limit. */
  maxBytes: number;
  stepRows: number;
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

const statements = new WeakMap<Database.Database, { byAge: Database.Statement; oldest: Database.Statement }>();

function stmts(db: Database.Database) {
  let s = statements.get(db);
  if (!s) {
    s = {
      // Through the decided_at index; the LIMIT bounds the work of one step.
      byAge: db.prepare(
        `DELETE FROM verdicts WHERE (station, seq) IN
           (SELECT station, seq FROM verdicts WHERE decided_at < ? AND published_at IS NOT NULL ORDER BY decided_at LIMIT ?)`,
      ),
      oldest: db.prepare(
        `DELETE FROM verdicts WHERE (station, seq) IN
           (SELECT station, seq FROM verdicts WHERE published_at IS NOT NULL ORDER BY decided_at LIMIT ?)`,
      ),
    };
    statements.set(db, s);
  }
  return s;
}

/** One step: deletes by age first, then by size; returns the rows deleted (0 = nothing left to do). */
export function retentionStep(db: Database.Database, step: RetentionStep): number {
  const s = stmts(db);
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
