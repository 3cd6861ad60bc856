import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { holdWriteLock, openRecorder, readRows, tmpDb, verdict, waitFor } from '../helpers/verdict-log.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Short busy timeout and back-off so the test runs in seconds; the daemon's are 5 s and 50 ms..2 s.
const fast = { busyTimeoutMs: 300, retryMinMs: 20, retryMaxMs: 200 };

describe('verdict log locked by another process', () => {
  it('keeps every verdict and acknowledgement while the lock is held past the busy timeout, reports the fault once, and clears it', async () => {
    const path = tmpDb('inspectd-locked-');
    const { rec, committed, published, states } = await openRecorder(path, fast);
    for (let i = 0; i < 20; i++) rec.record(verdict(i));
    expect(await rec.sync()).toBe(true);

    const lock = await holdWriteLock(path);
    let lastSeq = 20;
    let waitingAtRelease = 0;
    try {
      // 2 s of a line at ~200 fps with the log locked: several busy timeouts and retries.
      const end = Date.now() + 2_000;
      while (Date.now() < end) {
        for (let i = 0; i < 4; i++) lastSeq = rec.record(verdict(lastSeq)).seq;
        await sleep(20);
      }
      rec.markPublished([1, 2, 3], 111); // rows already in the log
      rec.markPublished([21, 22], 222); // rows still waiting behind the lock
      expect(rec.storageState()).toMatchObject({ ok: false, code: 'INSPECTD_STORE_BUSY' });
      expect(await rec.sync()).toBe(false); // answers at once during a fault, does not wait
      expect(committed.length).toBe(20);
      waitingAtRelease = lastSeq - committed.length;
    } finally {
      await lock.release();
    }
    const releasedAt = Date.now();
    await waitFor('the log to recover', () => rec.storageState().ok);
    const recoveredMs = Date.now() - releasedAt;
    expect(await rec.sync()).toBe(true);
    console.info(`db-locked figures: ${JSON.stringify({ lockHeldMs: 2_000, busyTimeoutMs: fast.busyTimeoutMs, recorded: lastSeq, waitingAtRelease, recoveredMs, states: states.length })}`);

    // One state per change, not one per retry: fault, then recovered.
    expect(states.map((s) => [s.ok, s.code])).toEqual([
      [false, 'INSPECTD_STORE_BUSY'],
      [true, null],
    ]);
    expect(states[0]!.pendingWrites).toBeGreaterThan(0);
    expect(states[1]).toMatchObject({ pendingWrites: 0, unloggedVerdicts: 0 });
    expect(lastSeq).toBeGreaterThan(200);
    expect(committed).toEqual(range(1, lastSeq));
    expect(published.sort((a, b) => a - b)).toEqual([1, 2, 3, 21, 22]);
    expect(await rec.close()).toEqual({ unwritten: 0, unwrittenMarks: 0 });
    const rows = readRows(path);
    expect(rows.map((r) => r.seq)).toEqual(range(1, lastSeq));
    expect(rows.filter((r) => r.published_at !== null).map((r) => [r.seq, r.published_at])).toEqual([
      [1, 111],
      [2, 111],
      [3, 111],
      [21, 222],
      [22, 222],
    ]);
  });

  it('past its bound, counts the verdicts it cannot keep and writes their range to the log when storage returns', async () => {
    const path = tmpDb('inspectd-locked-');
    const { rec, states } = await openRecorder(path, { ...fast, maxPendingVerdicts: 50 });
    for (let i = 0; i < 10; i++) rec.record(verdict(i));
    expect(await rec.sync()).toBe(true);
    const lock = await holdWriteLock(path);
    try {
      for (let i = 10; i < 210; i++) rec.record(verdict(i)); // seqs 11..210: 11..60 kept, 61..210 counted
      await waitFor('the bound to be reported', () => states.some((s) => s.unloggedVerdicts > 0));
      await waitFor('the fault to be reported', () => states.some((s) => !s.ok));
    } finally {
      await lock.release();
    }
    await waitFor('the log to recover', () => rec.storageState().ok);
    expect(rec.record(verdict(210)).seq).toBe(211);
    expect(await rec.sync()).toBe(true);
    expect(rec.storageState()).toMatchObject({ ok: true, unloggedVerdicts: 150 });
    // The stop reports that this run could not log everything (the CLI exits 74 on it).
    expect(await rec.close()).toEqual({ unwritten: 150, unwrittenMarks: 0 });
    expect(readRows(path).map((r) => r.seq)).toEqual([...range(1, 60), 211]);
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT station, first_seq, last_seq, verdicts, first_decided_at, last_decided_at FROM unlogged_ranges').all()).toEqual([
      { station: 'st1', first_seq: 61, last_seq: 210, verdicts: 150, first_decided_at: 1_080, last_decided_at: 1_229 },
    ]);
    db.close();
  });

  it('a stop while the log is still locked says how many verdicts it could not write, and the next life reuses none of their seqs', async () => {
    const path = tmpDb('inspectd-locked-');
    const { rec } = await openRecorder(path, { ...fast, closeTimeoutMs: 800 });
    rec.record(verdict(0));
    expect(await rec.sync()).toBe(true);
    const lock = await holdWriteLock(path);
    let result;
    try {
      for (let i = 1; i <= 5; i++) rec.record(verdict(i));
      result = await rec.close();
    } finally {
      await lock.release();
    }
    expect(result).toEqual({ unwritten: 5, unwrittenMarks: 0 });
    const next = await openRecorder(path);
    expect(next.rec.record(verdict(9)).seq).toBeGreaterThan(6);
    await next.rec.close();
    expect(readRows(path).map((r) => r.seq)).toHaveLength(2);
  });
});
