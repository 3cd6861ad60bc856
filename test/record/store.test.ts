import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { VerdictStore, type NewVerdict } from '../../src/record/store.js';

const model = { name: 'm', version: '1', precision: 'int8', backend: 'onnxruntime' };

function verdict(frameId: number, station = 'st1'): NewVerdict {
  return {
    station,
    camera: 'cam1',
    frameId,
    partId: `p${frameId}`,
    decision: { verdict: frameId % 2 ? 'FAIL' : 'PASS', score: frameId / 100, defects: frameId % 2 ? [{ label: 'scratch', score: 0.9, box: [1, 2, 3, 4] }] : [] },
    capturedAt: 1_000 + frameId,
    decidedAt: 1_020 + frameId,
    deadlineMs: 30,
    model,
  };
}

function tmpDb(): string {
  return join(mkdtempSync(join(tmpdir(), 'inspectd-store-')), 'sub', 'v.db');
}

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

  it('round-trips the MQTT payload fields exactly', () => {
    const store = new VerdictStore({ path: tmpDb() });
    const msg = store.record(verdict(1));
    const [row] = store.list({});
    expect(msg).toEqual({
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
    });
    expect(row!.seq).toBe(1);
    store.close();
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

  it('keeps every committed verdict when the process dies without closing the database', async () => {
    const path = tmpDb();
    const { spawnSync } = await import('node:child_process');
    // A child writes 50 verdicts then kills itself with SIGKILL: no close(), no checkpoint.
    const script = `
      import { VerdictStore } from '${new URL('../../dist/src/record/store.js', import.meta.url).pathname}';
      const s = new VerdictStore({ path: ${JSON.stringify(path)} });
      for (let i = 0; i < 50; i++) s.record({ station: 'st1', camera: 'c', frameId: i, partId: null,
        decision: { verdict: 'PASS', score: 0.1, defects: [] }, capturedAt: i, decidedAt: i + 1, deadlineMs: 30,
        model: { name: 'm', version: '1', precision: 'int8', backend: 'x' } });
      process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script]);
    expect(r.signal).toBe('SIGKILL');
    const store = new VerdictStore({ path });
    expect(store.list({}).map((r) => r.frame_id)).toEqual([...Array(50).keys()]);
    expect(store.record(verdict(99)).seq).toBe(51);
    store.close();
  });
});
