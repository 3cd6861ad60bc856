import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { verdictLogOptions } from '../../src/record/recorder.js';
import { cliPath, defaultModelJson } from '../helpers/model.js';
import { openRecorder, tmpDb, verdict } from '../helpers/verdict-log.js';

/** Per thread of this process, from the kernel: nice (stat field 19) and CPU ticks (fields 14+15). */
function threads(): Map<string, { nice: number; ticks: number }> {
  const out = new Map<string, { nice: number; ticks: number }>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3
      out.set(tid, { nice: Number(f[16]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // Ended between the listing and the read.
    }
  }
  return out;
}

describe('the verdict writer thread priority (storage.writerNice)', () => {
  it('commits on a thread at the nice value asked for; the main thread keeps its own', async () => {
    const before = threads();
    const { rec } = await openRecorder(tmpDb(), { writerNice: 13 });
    try {
      for (let i = 1; i <= 3000; i++) rec.record(verdict(i));
      expect(await rec.sync()).toBe(true);
      let busiest = { tid: '', gain: -1, nice: Number.NaN };
      for (const [tid, t] of threads()) {
        if (tid === String(process.pid)) continue;
        const gain = t.ticks - (before.get(tid)?.ticks ?? 0);
        if (gain > busiest.gain) busiest = { tid, gain, nice: t.nice };
      }
      // The thread that did the writing (the most CPU of all but the main one) is the one lowered.
      expect(busiest.nice).toBe(13);
      expect(threads().get(String(process.pid))!.nice).toBe(0);
    } finally {
      await rec.close();
    }
  });

  it('defaults to 10 when publishing on decision, and leaves the writer as it is when publishing after the commit', () => {
    const onDecision = configSchema.parse({});
    expect(verdictLogOptions(onDecision, ['mqtt']).writerNice).toBe(10);
    const afterCommit = configSchema.parse({ mqtt: { publishMode: 'after-commit' } });
    expect(verdictLogOptions(afterCommit, ['mqtt']).writerNice).toBeUndefined();
    expect(verdictLogOptions(configSchema.parse({ mqtt: { publishMode: 'after-commit' }, storage: { writerNice: 3 } }), ['mqtt']).writerNice).toBe(3);
  });

  it('refuses a value outside -20..19, naming the field', () => {
    for (const bad of [20, -21, 1.5, 'low']) {
      const r = configSchema.safeParse({ storage: { writerNice: bad } });
      expect(r.success, String(bad)).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual(['storage', 'writerNice']);
    }
    const file = join(mkdtempSync(join(tmpdir(), 'inspectd-wn-')), 'c.yaml');
    writeFileSync(file, `model: { path: ${defaultModelJson} }\nstorage: { writerNice: 20 }\n`);
    const run = spawnSync(process.execPath, [cliPath, 'check-config', file, '--no-model'], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain('storage.writerNice');
  });
});
