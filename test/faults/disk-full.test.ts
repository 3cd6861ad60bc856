import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerdictRecorder } from '../../src/record/recorder.js';
import { fill, mountTmpfs } from '../helpers/disk.js';
import { openRecorder, readRows, verdict, waitFor } from '../helpers/verdict-log.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('verdict log on a full disk', () => {
  // A real 8 MiB tmpfs (we run as root); if the machine refuses the mount the test fails, saying why.
  const mnt = mkdtempSync(join(tmpdir(), 'inspectd-full-'));
  let mounted = false;
  let rec: VerdictRecorder | undefined;
  beforeAll(() => {
    mountTmpfs(mnt, 8);
    mounted = true;
  });
  afterAll(async () => {
    await rec?.close();
    if (mounted) execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });

  it('keeps every verdict while the disk is full, reports the fault, recovers when space returns, and writes every seq exactly once', async () => {
    const path = join(mnt, 'v.db');
    const opened = await openRecorder(path, { retryMinMs: 20, retryMaxMs: 200 });
    rec = opened.rec;
    const { committed, published, states } = opened;
    for (let i = 0; i < 50; i++) rec.record(verdict(i));
    expect(await rec.sync()).toBe(true);
    rec.markPublished(range(1, 50), 500);
    expect(await rec.sync()).toBe(true);

    const filler = join(mnt, 'filler');
    const filled = fill(filler);
    expect(filled).toBeGreaterThan(1 << 20);
    // The line goes on at ~400 fps until the log reports the full disk, then 1 s more.
    let lastSeq = 50;
    const line = async (untilMs: number) => {
      while (Date.now() < untilMs) {
        for (let i = 0; i < 8; i++) lastSeq = rec!.record(verdict(lastSeq)).seq;
        await sleep(20);
      }
    };
    const giveUp = Date.now() + 20_000;
    while (!states.some((s) => !s.ok) && Date.now() < giveUp) await line(Date.now() + 100);
    expect(rec.storageState()).toMatchObject({ ok: false, code: 'INSPECTD_STORE_FULL' });
    await line(Date.now() + 1_000);
    const during = lastSeq;
    rec.markPublished(range(during - 9, during), 700); // acknowledgements of verdicts not yet in the log
    expect(await rec.sync()).toBe(false);
    expect(committed.length).toBeLessThan(during);
    expect(rec.storageState().pendingWrites).toBeGreaterThan(0);

    const committedDuring = committed.length;
    rmSync(filler);
    const freedAt = Date.now();
    await waitFor('the log to recover', () => rec!.storageState().ok, 20_000);
    const recoveredMs = Date.now() - freedAt;
    expect(await rec.sync()).toBe(true);
    expect(states.filter((s) => !s.ok).map((s) => s.code)).toEqual(['INSPECTD_STORE_FULL']);
    expect(states.at(-1)).toMatchObject({ ok: true, pendingWrites: 0, unloggedVerdicts: 0 });
    expect(committed).toEqual(range(1, lastSeq));
    expect(published.sort((a, b) => a - b)).toEqual([...range(1, 50), ...range(during - 9, during)]);
    expect(await rec.close()).toEqual({ unwritten: 0, unwrittenMarks: 0 });
    rec = undefined;

    const rows = readRows(path);
    // The figures docs/reliability.md quotes.
    console.info(`disk-full figures: ${JSON.stringify({ recorded: lastSeq, notYetLoggedWhenSpaceReturned: during - committedDuring, recoveredMs, logged: rows.length, distinct: new Set(rows.map((r) => r.seq)).size })}`);
    expect(rows.map((r) => r.seq)).toEqual(range(1, lastSeq));
    expect(rows.filter((r) => r.published_at === 700).map((r) => r.seq)).toEqual(range(during - 9, during));
    expect(rows.filter((r) => r.published_at === 500)).toHaveLength(50);
  });
});
