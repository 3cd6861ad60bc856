import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { rowToMessage, VerdictStore } from '../../src/record/store.js';
import { model, tmpDb, verdict } from '../helpers/verdict-log.js';

describe('verdict store', () => {
  it('creates the database folder and allocates seq 1, 2, 3 per station', () => {
    const store = new VerdictStore({ path: tmpDb() });
    expect([0, 1, 2].map((i) => store.record(verdict(i)).seq)).toEqual([1, 2, 3]);
    expect(store.record(verdict(0, 'st2')).seq).toBe(1);
    store.close();
  });

  it('continues seq after a restart and never reuses one, even after rows are deleted', () => {
    const path = tmpDb();
    let store = new VerdictStore({ path });
    for (let i = 0; i < 5; i++) store.record(verdict(i));
    store.markPublished('st1', [1, 2, 3, 4, 5], 2_000);
    expect(store.deleteOlderThan(10_000)).toBe(5);
    store.close();
    store = new VerdictStore({ path });
    expect(store.record(verdict(5)).seq).toBe(6);
    store.close();
  });

  it('round-trips the MQTT payload fields exactly through the stored row', () => {
    const path = tmpDb();
    const store = new VerdictStore({ path });
    store.record(verdict(1));
    store.record({ ...verdict(2), decision: { verdict: 'ERROR', score: null, defects: [], error: { code: 'INSPECTD_FRAME_INVALID', message: 'empty frame' } } });
    store.close();
    // Read back through a separate connection: what a restart or `inspectd verdicts` sees.
    const rows = new Database(path, { readonly: true }).prepare('SELECT * FROM verdicts ORDER BY seq').all() as never[];
    expect(rows.map(rowToMessage)).toEqual([
      {
        schema: 1,
        seq: 1,
        station: 'st1',
        camera: 'cam1',
        frameId: 1,
        partId: 'p1',
        verdict: 'FAIL',
        score: 0.01,
        defects: [{ label: 'scratch', score: 0.9, box: [1, 2, 3, 4] }],
        capturedAt: 1_001,
        decidedAt: 1_021,
        latencyMs: 20,
        deadlineMs: 30,
        model,
      },
      {
        schema: 1,
        seq: 2,
        station: 'st1',
        camera: 'cam1',
        frameId: 2,
        partId: 'p2',
        verdict: 'ERROR',
        score: null,
        defects: [],
        capturedAt: 1_002,
        decidedAt: 1_022,
        latencyMs: 20,
        deadlineMs: 30,
        model,
        error: { code: 'INSPECTD_FRAME_INVALID', message: 'empty frame' },
      },
    ]);
    // And the columns themselves, not only what rowToMessage makes of them.
    expect(rows[0]).toMatchObject({ frame_id: 1, part_id: 'p1', defects: '[{"label":"scratch","score":0.9,"box":[1,2,3,4]}]', published_at: null, error_code: null });
  });

  it('keeps unpublished verdicts as an outbox in seq order until acknowledged', () => {
    const store = new VerdictStore({ path: tmpDb() });
    for (let i = 0; i < 4; i++) store.record(verdict(i));
    store.markPublished('st1', [2], 5);
    expect(store.unpublished('st1', 0, 10).map((m) => m.seq)).toEqual([1, 3, 4]);
    expect(store.unpublished('st1', 1, 10).map((m) => m.seq)).toEqual([3, 4]);
    expect(store.countUnpublished('st1')).toBe(3);
    store.close();
  });

  it('records a late result beside the TIMEOUT verdict without changing the verdict', () => {
    const path = tmpDb();
    const store = new VerdictStore({ path });
    const msg = store.record({ ...verdict(0), decision: { verdict: 'TIMEOUT', score: null, defects: [] } });
    store.recordLate('st1', msg.seq, { verdict: 'FAIL', score: 0.8, defects: [] }, 5_000);
    store.close();
    const row = new Database(path, { readonly: true }).prepare('SELECT verdict, late_verdict, late_score, late_decided_at FROM verdicts').get();
    expect(row).toEqual({ verdict: 'TIMEOUT', late_verdict: 'FAIL', late_score: 0.8, late_decided_at: 5_000 });
  });
});
