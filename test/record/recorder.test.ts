import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VerdictRecorder } from '../../src/record/recorder.js';
import { VerdictStore, type NewVerdict } from '../../src/record/store.js';

const model = { name: 'm', version: '1', precision: 'int8', backend: 'onnxruntime' };
function verdict(frameId: number): NewVerdict {
  return {
    station: 'st1',
    camera: 'cam1',
    frameId,
    partId: null,
    decision: { verdict: 'PASS', score: 0.1, defects: [] },
    capturedAt: frameId,
    decidedAt: frameId + 5,
    deadlineMs: 30,
    model,
  };
}

describe('verdict recorder (writer thread)', () => {
  it('allocates seq at once, makes rows visible to the outbox only once committed, and reports the commit', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'inspectd-rec-')), 'v.db');
    const committed: number[] = [];
    const rec = await VerdictRecorder.open({ path, synchronous: 'FULL', station: 'st1' }, { committed: (v) => committed.push(...v), failed: () => {} });
    const seqs = [0, 1, 2].map((i) => rec.record(verdict(i)).seq);
    expect(seqs).toEqual([1, 2, 3]);
    await rec.sync();
    expect(committed).toEqual([1, 2, 3]);
    expect(rec.unpublished(0, 10).map((m) => m.seq)).toEqual([1, 2, 3]);
    rec.markPublished([1, 3], 99);
    rec.recordLate(2, { verdict: 'FAIL', score: 0.9, defects: [] }, 50);
    await rec.sync();
    expect(rec.unpublished(0, 10).map((m) => m.seq)).toEqual([2]);
    expect(rec.countUnpublished()).toBe(1);
    await rec.close();

    // A new life continues the sequence from the log.
    const again = await VerdictRecorder.open({ path, synchronous: 'FULL', station: 'st1' }, { committed: () => {}, failed: () => {} });
    expect(again.record(verdict(3)).seq).toBe(4);
    await again.close();
    const store = new VerdictStore({ path, readonly: true });
    const rows = store.list({});
    store.close();
    expect(rows.map((r) => [r.seq, r.published_at, r.late_verdict])).toEqual([
      [1, 99, null],
      [2, null, 'FAIL'],
      [3, 99, null],
      [4, null, null],
    ]);
  });

  it('close() writes everything handed over before it', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'inspectd-rec-')), 'v.db');
    const rec = await VerdictRecorder.open({ path, synchronous: 'FULL', station: 'st1' }, { committed: () => {}, failed: () => {} });
    for (let i = 0; i < 500; i++) rec.record(verdict(i));
    await rec.close();
    const store = new VerdictStore({ path, readonly: true });
    expect(store.list({}).length).toBe(500);
    store.close();
  });
});
