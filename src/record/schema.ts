import type Database from 'better-sqlite3';
import { InspectdError } from '../errors.js';

/**
 * The verdict log's schema, versioned by `PRAGMA user_version` and migrated at start in one
 * transaction. Version 1 is the schema of inspectd 0.1 (which left user_version at 0); a file
 * with tables that are not ours, or from a newer inspectd, is refused before anything is written
 * to it: the checks below only read, and the first write (journal_mode, migrations) comes after.
 */
export const LOG_SCHEMA_VERSION = 5;

const MIGRATIONS: readonly { to: number; sql: string }[] = [
  {
    to: 1,
    sql: `
CREATE TABLE seq_counter (
  station TEXT PRIMARY KEY,
  last_seq INTEGER NOT NULL
);
CREATE TABLE verdicts (
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
CREATE INDEX verdicts_unpublished ON verdicts (station, seq) WHERE published_at IS NULL;
CREATE INDEX verdicts_frame ON verdicts (camera, frame_id);
CREATE INDEX verdicts_decided ON verdicts (decided_at);
`,
  },
  {
    // Seqs are handed out from a range committed ahead of use (reserved_to), so a crash between
    // publish and commit leaves a gap, never a reused seq. unlogged_ranges records verdicts that
    // were published but could not be kept for the log (storage fault past the recorder's bound).
    to: 2,
    sql: `
ALTER TABLE seq_counter ADD COLUMN reserved_to INTEGER NOT NULL DEFAULT 0;
UPDATE seq_counter SET reserved_to = last_seq;
CREATE TABLE unlogged_ranges (
  station         TEXT    NOT NULL,
  first_seq       INTEGER NOT NULL,
  last_seq        INTEGER NOT NULL,
  verdicts        INTEGER NOT NULL,
  first_decided_at INTEGER NOT NULL,
  last_decided_at  INTEGER NOT NULL,
  recorded_at     INTEGER NOT NULL,
  PRIMARY KEY (station, first_seq)
) WITHOUT ROWID;
`,
  },
  {
    // Folder replay (issue 6): the image file each verdict judged; NULL for cameras.
    to: 3,
    sql: `ALTER TABLE verdicts ADD COLUMN source TEXT;`,
  },
  {
    // The operator page's review (issue 10): a quality engineer's mark on a reject, kept on its row
    // (retention takes it with the verdict) and exported for relabelling. NULL until marked.
    to: 4,
    sql: `
ALTER TABLE verdicts ADD COLUMN review TEXT CHECK (review IN ('true-reject','false-reject'));
ALTER TABLE verdicts ADD COLUMN reviewed_at INTEGER;
`,
  },
  {
    // One cursor per durable output (issue 7): a row for each verdict each output still owes, deleted
    // when that output has delivered it. MQTT and Sparkplug B then never wait for, re-send or lose
    // because of each other, and retention keeps a verdict while any enabled output owes it.
    // published_at stays: it is the MQTT output's acknowledgement time, as `inspectd verdicts` shows it.
    // The old partial index is replaced: the outbox is read from here now.
    to: 5,
    sql: `
CREATE TABLE outbox (
  station TEXT    NOT NULL,
  seq     INTEGER NOT NULL,
  output  TEXT    NOT NULL,
  PRIMARY KEY (station, seq, output)
) WITHOUT ROWID;
CREATE INDEX outbox_by_output ON outbox (output, station, seq);
INSERT INTO outbox (station, seq, output) SELECT station, seq, 'mqtt' FROM verdicts WHERE published_at IS NULL;
DROP INDEX verdicts_unpublished;
CREATE TRIGGER verdicts_deleted_outbox AFTER DELETE ON verdicts BEGIN
  DELETE FROM outbox WHERE station = old.station AND seq = old.seq;
END;
`,
  },
];

/** Every table any version of inspectd creates; anything else makes the file foreign. */
const OUR_TABLES = new Set(['seq_counter', 'verdicts', 'unlogged_ranges', 'outbox']);

export interface SchemaCheck {
  /** The version found (0 = empty file, a new log). */
  version: number;
}

/** Reads (never writes) what the file holds and refuses what is not an inspectd log we can use. */
export function checkLogFile(db: Database.Database, path: string): SchemaCheck {
  let tables: string[];
  let version: number;
  try {
    tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`).all() as { name: string }[]).map(
      (r) => r.name,
    );
    version = db.pragma('user_version', { simple: true }) as number;
  } catch (err) {
    throw new InspectdError('INSPECTD_STORE_FOREIGN', `${path} is not a SQLite database inspectd can read (${(err as Error).message}); refusing to use it as the verdict log`, {
      cause: err,
    });
  }
  if (version > LOG_SCHEMA_VERSION) {
    throw new InspectdError(
      'INSPECTD_STORE_VERSION',
      `verdict log ${path} has schema version ${version}, newer than this inspectd's ${LOG_SCHEMA_VERSION}: upgrade inspectd or point storage.path elsewhere`,
    );
  }
  const foreign = tables.filter((t) => !OUR_TABLES.has(t));
  if (foreign.length > 0) {
    throw new InspectdError('INSPECTD_STORE_FOREIGN', `${path} holds tables that are not inspectd's (${foreign.join(', ')}); refusing to use it as the verdict log`);
  }
  if (tables.length === 0) return { version: 0 };
  if (version === 0) {
    // inspectd 0.1 did not set user_version: its log is exactly seq_counter + verdicts.
    const cols = new Set((db.prepare(`PRAGMA table_info(verdicts)`).all() as { name: string }[]).map((c) => c.name));
    if (!tables.includes('seq_counter') || !cols.has('published_at') || !cols.has('seq')) {
      throw new InspectdError('INSPECTD_STORE_FOREIGN', `${path} has tables named like inspectd's but not its schema; refusing to use it as the verdict log`);
    }
    return { version: 1 };
  }
  return { version };
}

/** Applies the migrations above the file's version in one transaction (all or nothing). */
export function migrate(db: Database.Database, from: number): void {
  const pending = MIGRATIONS.filter((m) => m.to > from);
  if (pending.length === 0) return;
  db.transaction(() => {
    for (const m of pending) db.exec(m.sql);
    db.pragma(`user_version = ${LOG_SCHEMA_VERSION}`);
  })();
}

/** For tests: the schema of an older version, as that version would have left the file. */
export function schemaSql(version: number): string {
  return MIGRATIONS.filter((m) => m.to <= version)
    .map((m) => m.sql)
    .join('\n');
}
