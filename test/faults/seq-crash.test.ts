import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRows, tmpDb } from '../helpers/verdict-log.js';

const recorderJs = new URL('../../dist/src/record/recorder.js', import.meta.url).pathname;
// Half a block must outlast the writer's lag (here ~10 verdicts per slowed commit); the default is 10,000.
const BLOCK = 100;

/**
 * One life of a recorder in its own process, through the real writer thread and group commit: it
 * prints each seq the moment it is handed out (the moment the daemon publishes it), then SIGKILLs
 * itself with commits still in flight (each commit is slowed to 30 ms, as on a slow SD card).
 */
function life(path: string, verdicts: number): number[] {
  const script = `
    import { writeSync } from 'node:fs';
    import { VerdictRecorder } from '${recorderJs}';
    const rec = await VerdictRecorder.open({ path: ${JSON.stringify(path)}, synchronous: 'FULL', station: 'st1', seqBlock: ${BLOCK}, slowCommitMs: 30 }, { committed() {} });
    for (let i = 0; i < ${verdicts}; i++) {
      const msg = rec.record({ station: 'st1', camera: 'c', frameId: i, partId: null, decision: { verdict: 'PASS', score: 0.1, defects: [] },
        capturedAt: i, decidedAt: i + 1, deadlineMs: 30, model: { name: 'm', version: '1', precision: 'int8', backend: 'x' } });
      writeSync(1, msg.seq + '\\n');
      if (i % 3 === 0) await new Promise((r) => setTimeout(r, 4));
    }
    process.kill(process.pid, 'SIGKILL');`;
  // A file, not --eval: the writer thread inherits the process's flags, and --input-type breaks a worker.
  const file = join(dirname(path), `life-${Date.now()}-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
  expect(r.signal, r.stderr).toBe('SIGKILL');
  return r.stdout.trim().split('\n').map(Number);
}

describe('seq across crashes', () => {
  it('never hands out a seq twice when the process dies between publish and commit, and skips at most one block', () => {
    const path = tmpDb('inspectd-crash-');
    mkdirSync(dirname(path), { recursive: true });
    const counts = [30, 95, 7, 160, 61, 120];
    const lives = counts.map((n) => life(path, n));
    const published = lives.flat();
    const rows = readRows(path).map((r) => r.seq);

    expect(lives.map((l) => l.length)).toEqual(counts);
    // No seq reused, across all lives, whether or not its row reached the log.
    expect(new Set(published).size).toBe(published.length);
    // Each life starts after everything the previous one handed out, within one reserved block.
    for (let i = 1; i < lives.length; i++) {
      const prevLast = lives[i - 1]!.at(-1)!;
      const first = lives[i]![0]!;
      expect(first).toBeGreaterThan(prevLast);
      expect(first - prevLast - 1).toBeLessThanOrEqual(BLOCK);
    }
    // The log holds only published seqs, each once; and the crash really did cut commits short
    // (some published seqs never reached the log), which is the case the reservation exists for.
    expect(new Set(rows).size).toBe(rows.length);
    expect(rows.every((s) => published.includes(s))).toBe(true);
    expect(rows.length).toBeLessThan(published.length);
    expect(rows.length).toBeGreaterThan(0);
    const gaps = lives.slice(1).map((l, i) => l[0]! - lives[i]!.at(-1)! - 1);
    console.info(`seq-crash figures: ${JSON.stringify({ lives: lives.length, published: published.length, logged: rows.length, reused: published.length - new Set(published).size, gaps })}`);
  });
});
