import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { LOG_SCHEMA_VERSION, schemaSql } from '../../src/record/schema.js';
import { VerdictStore } from '../../src/record/store.js';
import { openRecorder, readRows, tmpDb, verdict } from '../helpers/verdict-log.js';

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Makes a SQLite file with the given SQL, in rollback-journal mode (so nothing but the file exists). */
function sqliteFile(sql: string): string {
  const path = tmpDb('inspectd-mig-');
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.exec(sql);
  db.close();
  return path;
}

async function openError(path: string): Promise<unknown> {
  return openRecorder(path).then(
    async ({ rec }) => {
      await rec.close();
      return undefined;
    },
    (err: unknown) => err,
  );
}

describe('verdict log schema migrations', () => {
  it('creates a new log at the current schema version', async () => {
    const path = tmpDb();
    const { rec } = await openRecorder(path);
    await rec.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(LOG_SCHEMA_VERSION);
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all()).toEqual(['outbox', 'seq_counter', 'unlogged_ranges', 'verdicts']);
    db.close();
  });

  it('refuses a log from a newer inspectd and leaves it byte for byte unchanged', async () => {
    const path = sqliteFile(`${schemaSql(LOG_SCHEMA_VERSION)}; PRAGMA user_version = ${LOG_SCHEMA_VERSION + 1};`);
    const before = sha(path);
    expect(await openError(path)).toMatchObject({ code: 'INSPECTD_STORE_VERSION' });
    expect(() => new VerdictStore({ path })).toThrow(expect.objectContaining({ code: 'INSPECTD_STORE_VERSION' }));
    expect(sha(path)).toBe(before);
  });

  it('refuses a foreign SQLite file before writing anything to it', async () => {
    const path = sqliteFile(`CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO recipes (name) VALUES ('bread');`);
    const before = sha(path);
    const err = await openError(path);
    expect(err).toMatchObject({ code: 'INSPECTD_STORE_FOREIGN' });
    expect(String((err as Error).message)).toContain('recipes');
    expect(sha(path)).toBe(before);
    // Not even a seq_counter table crept in, and the journal mode is still the file's own.
    const db = new Database(path, { readonly: true });
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all()).toEqual(['recipes']);
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    db.close();
  });

  it('refuses a file that is not SQLite at all, unchanged', async () => {
    const path = tmpDb('inspectd-mig-');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, 'station,seq\nst1,1\n'.repeat(300));
    const before = sha(path);
    expect(await openError(path)).toMatchObject({ code: 'INSPECTD_STORE_FOREIGN' });
    expect(sha(path)).toBe(before);
  });

  it('migrates a log written by inspectd 0.1 (schema 1, no user_version) in place, keeping its rows and seq', async () => {
    // Exactly what 0.1 created: its tables, user_version left at 0, three verdicts, one acknowledged.
    const path = sqliteFile(schemaSql(1));
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    const ins = old.prepare(
      `INSERT INTO verdicts (station, seq, camera, frame_id, part_id, verdict, score, defects, captured_at, decided_at, latency_ms, deadline_ms, model, published_at)
       VALUES ('st1', ?, 'cam1', ?, NULL, 'PASS', 0.1, '[]', 1000, 1010, 10, 30, '{"name":"m"}', ?)`,
    );
    [1, 2, 3].forEach((seq) => ins.run(seq, seq, seq === 1 ? 5 : null));
    old.prepare(`INSERT INTO seq_counter (station, last_seq) VALUES ('st1', 3)`).run();
    expect(old.pragma('user_version', { simple: true })).toBe(0);
    old.close();

    const { rec } = await openRecorder(path);
    expect(rec.unpublished(0, 10).map((m) => m.seq)).toEqual([2, 3]);
    expect(rec.record(verdict(9)).seq).toBe(4);
    await rec.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(LOG_SCHEMA_VERSION);
    expect(db.prepare(`SELECT last_seq, reserved_to FROM seq_counter`).get()).toEqual({ last_seq: 4, reserved_to: 4 });
    db.close();
    expect(readRows(path).map((r) => [r.seq, r.published_at])).toEqual([
      [1, 5],
      [2, null],
      [3, null],
      [4, null],
    ]);
  });
});
