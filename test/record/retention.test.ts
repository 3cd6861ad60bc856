import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { usedBytes } from '../../src/record/retention.js';
import { toMessage, VerdictStore, type StoreWrite } from '../../src/record/store.js';
import { openRecorder, readRows, tmpDb, verdict, waitFor } from '../helpers/verdict-log.js';

/** A log of n verdicts (decidedAt 1020 + i), every one acknowledged except each 10th. */
function filledLog(n: number): { path: string; store: VerdictStore } {
  const path = tmpDb('inspectd-ret-');
  const store = new VerdictStore({ path, synchronous: 'NORMAL' });
  const writes: StoreWrite[] = [];
  for (let i = 0; i < n; i++) writes.push({ op: 'verdict', msg: toMessage(verdict(i), i + 1), delivered: (i + 1) % 10 === 0 ? undefined : { mqtt: 5 } });
  store.apply(writes);
  return { path, store };
}

const unpublishedSeqs = (n: number) => Array.from({ length: n / 10 }, (_, i) => (i + 1) * 10);

describe('retention', () => {
  it('deletes acknowledged verdicts by age in bounded steps and never an unacknowledged one', () => {
    const { store } = filledLog(5_000);
    const cutoffMs = 1_020 + 3_000; // seqs 1..3000 are older
    const steps: number[] = [];
    for (let n = -1; n !== 0; ) steps.push((n = store.retentionStep({ cutoffMs, maxBytes: 0, stepRows: 500 })));
    // 2,700 acknowledged rows are old enough: six steps of at most 500, then nothing more to do.
    expect(steps).toEqual([500, 500, 500, 500, 500, 200, 0]);
    const left = store.list({}).map((r) => r.seq);
    expect(left.filter((s) => s <= 3_000)).toEqual(unpublishedSeqs(3_000));
    expect(left.filter((s) => s > 3_000)).toHaveLength(2_000);
    store.close();
  });

  it('deletes the oldest acknowledged verdicts while the log is over its size, keeping every unacknowledged one', () => {
    const { path, store } = filledLog(20_000);
    store.close();
    const db = new Database(path);
    const before = usedBytes(db);
    db.close();
    const maxBytes = Math.floor(before / 2);
    const s2 = new VerdictStore({ path });
    expect(s2.overSize(maxBytes)).toBe(true);
    let steps = 0;
    while (s2.retentionStep({ cutoffMs: 0, maxBytes, stepRows: 1_000 }) > 0) steps++;
    expect(steps).toBeGreaterThan(1);
    expect(s2.overSize(maxBytes)).toBe(false);
    const left = s2.list({}).map((r) => r.seq);
    s2.close();
    // Oldest first: what is left of the acknowledged rows is a tail of the log.
    const acked = left.filter((s) => s % 10 !== 0);
    const firstKept = acked[0]!;
    expect(acked).toEqual(Array.from({ length: 20_000 - firstKept + 1 }, (_, i) => firstKept + i).filter((s) => s % 10 !== 0));
    expect(firstKept).toBeGreaterThan(5_000);
    expect(left.filter((s) => s % 10 === 0)).toEqual(unpublishedSeqs(20_000));
  });

  it('runs on the writer thread by itself when configured, leaving unpublished rows', async () => {
    const path = tmpDb('inspectd-ret-');
    // decidedAt in 1970: any retentionDays deletes every acknowledged row.
    const { rec } = await openRecorder(path, { retentionDays: 1, retentionCheckMs: 50, retentionStepRows: 100 });
    for (let i = 0; i < 1_000; i++) rec.record(verdict(i));
    rec.markPublished(Array.from({ length: 900 }, (_, i) => i + 1), 5);
    expect(await rec.sync()).toBe(true);
    await waitFor('retention to run', () => rec.countUnpublished() === 100 && readRows(path).length === 100);
    expect(readRows(path).map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 901 + i));
    await rec.close();
  });
});
