import { describe, expect, it } from 'vitest';
import { VerdictStore } from '../../src/record/store.js';
import { holdWriteLock, openRecorder, readRows, tmpDb, verdict, waitFor } from '../helpers/verdict-log.js';

describe('verdict recorder (writer thread)', () => {
  it('allocates seq at once and makes rows visible to the outbox only once committed', async () => {
    const path = tmpDb();
    const { rec, committed } = await openRecorder(path);
    // Another process holds the write lock, so the writer cannot commit yet: a row visible now
    // would be one the outbox could publish before it is durable.
    const lock = await holdWriteLock(path);
    try {
      const seqs = [0, 1, 2].map((i) => rec.record(verdict(i)).seq);
      expect(seqs).toEqual([1, 2, 3]);
      await new Promise((r) => setTimeout(r, 300));
      expect(committed).toEqual([]);
      expect(rec.unpublished(0, 10)).toEqual([]);
      expect(rec.countUnpublished()).toBe(0);
    } finally {
      await lock.release();
    }
    await waitFor('the commit', () => committed.length === 3);
    expect(committed).toEqual([1, 2, 3]);
    expect(rec.unpublished(0, 10).map((m) => m.seq)).toEqual([1, 2, 3]);
    await rec.close();
  });

  it('reports acknowledgements by seq, keeps late results, and continues seq in the next life without a gap after a clean close', async () => {
    const path = tmpDb();
    const { rec, published } = await openRecorder(path);
    for (let i = 0; i < 3; i++) rec.record(verdict(i));
    expect(await rec.sync()).toBe(true);
    rec.markPublished([1, 3], 99);
    rec.recordLate(2, { verdict: 'FAIL', score: 0.9, defects: [] }, 50);
    expect(await rec.sync()).toBe(true);
    expect(published).toEqual([1, 3]);
    expect(rec.unpublished(0, 10).map((m) => m.seq)).toEqual([2]);
    expect(rec.countUnpublished()).toBe(1);
    expect(await rec.close()).toEqual({ unwritten: 0, unwrittenMarks: 0 });

    // A clean close gives back the unused reservation: the next life continues at 4.
    const again = await openRecorder(path);
    expect(again.rec.record(verdict(3)).seq).toBe(4);
    await again.rec.close();
    expect(readRows(path).map((r) => [r.seq, r.published_at, r.late_verdict])).toEqual([
      [1, 99, null],
      [2, null, 'FAIL'],
      [3, 99, null],
      [4, null, null],
    ]);
  });

  it('close() writes everything handed over before it', async () => {
    const path = tmpDb();
    const { rec } = await openRecorder(path);
    for (let i = 0; i < 500; i++) rec.record(verdict(i));
    expect(await rec.close()).toEqual({ unwritten: 0, unwrittenMarks: 0 });
    const store = new VerdictStore({ path, readonly: true });
    expect(store.list({}).length).toBe(500);
    store.close();
  });
});
