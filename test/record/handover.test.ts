import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { verdictLogOptions } from '../../src/record/recorder.js';
import { openRecorder, readRows, tmpDb, verdict } from '../helpers/verdict-log.js';

/**
 * storage.handoverMs: the log's writes are gathered on the main thread and handed to the writer
 * together, so one commit (one wakeup, one fsync, one reply) carries several frames' verdicts. The
 * bounds asserted here are lower bounds or generous upper ones: a loaded machine only delays commits.
 */
describe('verdict log handover window', () => {
  it('commits the verdicts of one window together, not before the window is over', async () => {
    const path = tmpDb();
    const commits: { at: number; seqs: readonly number[] }[] = [];
    const { rec } = await openRecorder(path, { handoverMs: 150 });
    // openRecorder's own listener collects seqs; this one sees each commit as the outputs do.
    (rec as unknown as { worker: import('node:worker_threads').Worker }).worker.on('message', (m: { type: string; verdicts?: number[] }) => {
      if (m.type === 'committed') commits.push({ at: Date.now(), seqs: m.verdicts! });
    });
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) {
      rec.record(verdict(i));
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 1000));
    expect(commits.map((c) => c.seqs)).toEqual([[1, 2, 3, 4, 5]]);
    expect(commits[0]!.at - t0).toBeGreaterThanOrEqual(145);
    await rec.close();
    expect(readRows(path).length).toBe(5);
  });

  it('sync() and close() hand over at once, without waiting out the window', async () => {
    const path = tmpDb();
    const { rec, committed } = await openRecorder(path, { handoverMs: 60_000 });
    for (let i = 0; i < 3; i++) rec.record(verdict(i));
    const t0 = Date.now();
    expect(await rec.sync()).toBe(true);
    expect(committed).toEqual([1, 2, 3]);
    rec.record(verdict(3));
    expect(await rec.close()).toEqual({ unwritten: 0, unwrittenMarks: 0 });
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(readRows(path).length).toBe(4);
  });

  it('defaults to one turn of the event loop (one commit window for a crash), and takes a window when given', () => {
    expect(verdictLogOptions(configSchema.parse({}), ['mqtt']).handoverMs).toBe(0);
    expect(verdictLogOptions(configSchema.parse({ storage: { handoverMs: 20 } }), ['mqtt']).handoverMs).toBe(20);
    expect(verdictLogOptions(configSchema.parse({ mqtt: { publishMode: 'after-commit' } }), ['mqtt']).handoverMs).toBe(0);
    expect(verdictLogOptions(configSchema.parse({ storage: { handoverMs: 0 } }), ['mqtt']).handoverMs).toBe(0);
    for (const bad of [-1, 1.5, 5000, 'soon']) {
      const r = configSchema.safeParse({ storage: { handoverMs: bad } });
      expect(r.success, String(bad)).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual(['storage', 'handoverMs']);
    }
  });
});
