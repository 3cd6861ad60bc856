import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { cliPath } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { DaemonProcess, metric, scrape, syntheticConfig, tempDir, waitFor, writeConfig } from './helpers.js';

/**
 * Live reload under load, on the real daemon (`inspectd run`, a child process, 20 fps synthetic
 * line of good parts, a real mosquitto), reloaded with SIGHUP as `systemctl reload` does:
 * - config A judges every part FAIL (threshold 0) with a 250 ms deadline; config B every part PASS
 *   (threshold 1: the parts are all good, their scores are below 1) with 300 ms. Alternating them
 *   while frames flow must flip PASS/FAIL exactly once per reload in seq order, with no seq gap and
 *   every frame exactly one verdict.
 * - an invalid config, one that changes restart-only fields, and one the model cannot satisfy are
 *   each refused whole (logged with every reason), and the line keeps judging by the last good one.
 * - log.level applies to the running process.
 */
interface Rules {
  threshold: number;
  deadlineMs: number;
  verdict: 'PASS' | 'FAIL';
}
const A: Rules = { threshold: 0, deadlineMs: 250, verdict: 'FAIL' };
const B: Rules = { threshold: 1, deadlineMs: 300, verdict: 'PASS' };
const FLIPS = 8;

let dir: string;
let broker: TestBroker;
let daemon: DaemonProcess;
let base: string;
let db: string;
const config = (c: Rules, extra: string[] = []) => syntheticConfig({ dir, fps: 20, defectRate: 0, threshold: c.threshold, deadlineMs: c.deadlineMs, extra });

beforeAll(async () => {
  dir = tempDir('reload');
  db = join(dir, 'verdicts.db');
  broker = await TestBroker.start();
  const file = writeConfig(dir, config(A));
  daemon = DaemonProcess.start(file, ['--broker', broker.url, '--http', '127.0.0.1:0']);
  base = await daemon.httpBase();
  await waitFor('ready', () => daemon.event('ready'), 40_000);
}, 60_000);

afterAll(async () => {
  daemon?.kill();
  await broker?.stop();
});

/** SIGHUP, then wait for the reload counter to move. */
async function reload(text: string): Promise<{ applied: number; refused: number }> {
  const before = await scrape(base);
  const seen = metric(before, 'inspectd_config_reloads_total');
  writeConfig(dir, text);
  daemon.child.kill('SIGHUP');
  const after = await waitFor('the reload counted', async () => {
    const s = await scrape(base);
    return metric(s, 'inspectd_config_reloads_total') > seen && s;
  }, 10_000);
  return { applied: metric(after, 'inspectd_config_reloads_total', { result: 'applied' }), refused: metric(after, 'inspectd_config_reloads_total', { result: 'refused' }) };
}

async function answeredAtLeast(verdict: 'PASS' | 'FAIL', more: number): Promise<void> {
  const start = metric(await scrape(base), 'inspectd_verdicts_total', { verdict });
  await waitFor(`${more} more ${verdict}`, async () => metric(await scrape(base), 'inspectd_verdicts_total', { verdict }) >= start + more, 15_000);
}

describe('live reload (SIGHUP) under load', () => {
  let verdicts: VerdictMessage[];

  it('applies thresholds and deadlines from the next frame, every time, while frames flow', async () => {
    await answeredAtLeast('FAIL', 3);
    for (let i = 1; i <= FLIPS; i++) {
      const c = i % 2 === 1 ? B : A;
      const r = await reload(config(c));
      expect(r.applied).toBe(i);
      await answeredAtLeast(c.verdict, 3);
    }
    expect(daemon.events('config.reloaded')).toHaveLength(FLIPS);
    expect(daemon.events('config.reloaded')[0]!.changed).toEqual(['deadlineMs', 'cameras[0].thresholds.default']);
  }, 120_000);

  it('refuses an invalid config, listing every problem, and keeps the old one', async () => {
    const bad = config(A).replace('default: 0', 'default: 2').replace('fps: 20', 'fps: -1');
    const r = await reload(bad);
    expect(r).toEqual({ applied: FLIPS, refused: 1 });
    const refused = daemon.events('config.reload_refused').at(-1)!;
    expect(refused.code).toBe('INSPECTD_RELOAD_REFUSED');
    expect((refused.issues as Array<{ path: string }>).map((i) => i.path).sort()).toEqual(['cameras[0].source.fps', 'cameras[0].thresholds.default']);
  }, 20_000);

  it('refuses a config that changes what needs a restart, naming those fields', async () => {
    const r = await reload(config(A, ['station: other-line', 'inference:', '  workers: 2']).replace('default: 0', 'default: 1'));
    expect(r.refused).toBe(2);
    const issues = daemon.events('config.reload_refused').at(-1)!.issues as Array<{ path: string; message: string }>;
    // Only the restart-only fields are named; the threshold change beside them is not applied either.
    expect(issues.map((i) => i.path).sort()).toEqual(['inference.workers', 'station']);
    expect(issues[0]!.message).toMatch(/needs a restart/);
  }, 20_000);

  it('refuses a per-class threshold for a label the model lacks', async () => {
    const text = config(A).replace('      default: 0', '      default: 0\n      perClass:\n        no-such-label: 0.5');
    const r = await reload(text);
    expect(r.refused).toBe(3);
    const issues = daemon.events('config.reload_refused').at(-1)!.issues as Array<{ path: string }>;
    expect(issues.map((i) => i.path)).toEqual(['cameras[0].thresholds.perClass.no-such-label']);
    await answeredAtLeast(A.verdict, 3);
  }, 20_000);

  it('applies log.level to the running process', async () => {
    const r = await reload(config(A).replace('level: info', 'level: warn'));
    expect(r.applied).toBe(FLIPS + 1);
    const lines = daemon.logs.length;
    await answeredAtLeast(A.verdict, 3);
    expect(await daemon.stop()).toBe(0);
    // 'stopping' and 'stopped' are info: not written any more.
    expect(daemon.logs.slice(lines).filter((l) => l.level < 40)).toEqual([]);
    verdicts = execFileSync(process.execPath, [cliPath, 'verdicts', '--db', db], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as VerdictMessage);
  }, 60_000);

  it('lost no verdict and judged no frame twice across all the reloads', () => {
    // At least the answered verdicts each step waited for (3 per applied config, 3 after the refusals).
    expect(verdicts.length).toBeGreaterThanOrEqual((FLIPS + 3) * 3);
    expect(verdicts.map((v) => v.seq)).toEqual(verdicts.map((_, i) => i + 1));
    expect(verdicts.map((v) => v.frameId).sort((a, b) => a - b)).toEqual(verdicts.map((_, i) => i));
  });

  it('shows each applied rule change at one point in seq order', () => {
    const answered = verdicts.filter((v) => v.verdict === 'PASS' || v.verdict === 'FAIL');
    expect(answered.length).toBeGreaterThan(verdicts.length * 0.5);
    let flips = 0;
    for (let i = 1; i < answered.length; i++) if (answered[i]!.verdict !== answered[i - 1]!.verdict) flips++;
    // FAIL, then PASS/FAIL alternating once per applied threshold change; refused reloads change nothing.
    expect(answered[0]!.verdict).toBe('FAIL');
    expect(flips).toBe(FLIPS);
    expect(answered.at(-1)!.verdict).toBe('FAIL');
    // The deadline is fixed when a frame arrives, the rules when it is judged: a frame in flight across a
    // reload may pair the old deadline with the new rules, so only a few may disagree.
    const mismatched = answered.filter((v) => v.deadlineMs !== (v.verdict === 'FAIL' ? A.deadlineMs : B.deadlineMs));
    expect(mismatched.length).toBeLessThanOrEqual(FLIPS * 2);
    expect(new Set(verdicts.map((v) => v.deadlineMs))).toEqual(new Set([A.deadlineMs, B.deadlineMs]));
  });
});
