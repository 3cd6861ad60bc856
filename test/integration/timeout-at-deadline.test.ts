import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchDaemon, type Received, type WatchedRun } from '../helpers/daemon.js';
import { defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';

/**
 * A TIMEOUT is the PLC's answer at the deadline, so it must reach the PLC at the deadline: not when
 * the slow inference finally returns, not after the commit, not after the next frame's work. The
 * backend is slowed (every run sleeps 40 ms more: INSPECTD_TEST_INFER_DELAY_MS) so that no frame of a
 * 30 ms line can be answered, and every commit is 50 ms slow: each frame is a TIMEOUT while its
 * inference is still running and its row not yet written. An outside subscriber on a real mosquitto
 * stamps each on receipt.
 *
 * The stated margin: the median TIMEOUT within TYPICAL_MS after its deadline, nine in ten within
 * P90_MS, and every one within WORST_MS. On a quiet 2-vCPU VM the path from the deadline timer to
 * the subscriber is about 1-2 ms (timer, publish, mosquitto, subscriber; traced on the loopback with
 * tshark). WORST_MS is the bound of plc-deadline.test.ts for a CI box running the suite, where a
 * single TIMEOUT can wait behind another process. Held behind the slowed inference, a TIMEOUT would be
 * 18 ms or more late every time (the run's 8-10 ms plus 40 ms, less the 30 ms deadline), and behind the
 * commit 50 ms: the median catches both however loaded the machine is.
 */
const TYPICAL_MS = 5;
const P90_MS = 12;
const WORST_MS = 35;
const SLOW = { INSPECTD_TEST_INFER_DELAY_MS: '40', INSPECTD_TEST_COMMIT_DELAY_MS: '50' };

function lateness(r: Received): number {
  return r.at - (r.msg.capturedAt + r.msg.deadlineMs);
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function config(brokerUrl: string) {
  return {
  station: 'slow',
  deadlineMs: 30,
  model: { path: defaultModelJson },
  mqtt: { url: brokerUrl },
  cameras: [{ name: 'line', source: { type: 'synthetic', fps: 20, seed: 5 } }],
  };
}

describe('TIMEOUT at the deadline, at the PLC, with the backend and the disk both slower than the deadline', () => {
  let broker: TestBroker;
  let run: WatchedRun;

  beforeAll(async () => {
    broker = await TestBroker.start();
    run = await watchDaemon(broker.url, 'inspectd/slow/verdict', config(broker.url), SLOW, 80);
  }, 60_000);

  afterAll(async () => {
    await run?.sub.close();
    await broker?.stop();
  });

  it('exits 0 after the clean stop', () => {
    expect(run.exitCode, run.daemon.stderr).toBe(0);
  });

  it('gives every frame TIMEOUT: the slowed backend cannot answer in 30 ms', () => {
    expect(run.sub.received.length).toBeGreaterThanOrEqual(80);
    expect(run.sub.received.every((r) => r.msg.verdict === 'TIMEOUT')).toBe(true);
  });

  it('delivers each TIMEOUT at its deadline: never before, median within 5 ms, 90% within 12 ms, all within 35 ms', () => {
    const late = run.sub.received.map(lateness).sort((a, b) => a - b);
    for (const r of run.sub.received) expect(r.at).toBeGreaterThanOrEqual(r.msg.capturedAt + r.msg.deadlineMs);
    const figures = { median: quantile(late, 0.5), p90: quantile(late, 0.9), worst: late.at(-1)! };
    expect(figures.median, JSON.stringify(figures)).toBeLessThanOrEqual(TYPICAL_MS);
    expect(figures.p90, JSON.stringify(figures)).toBeLessThanOrEqual(P90_MS);
    expect(figures.worst, JSON.stringify(figures)).toBeLessThanOrEqual(WORST_MS);
  });
});
