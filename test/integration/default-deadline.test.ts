import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBroker } from '../helpers/mosquitto.js';
import { Cleanups, startDaemon, Subscriber, tempDir, until, type DaemonProcess } from '../helpers/daemon.js';

/**
 * The promise the README makes, measured where the PLC is: `inspectd run` on its embedded default
 * (synthetic camera at 10 fps, 30 ms deadline, synthetic-line model at `precision: auto`, one ORT
 * thread), with only the broker and the database moved (`--broker`, `--db`) so the test does not
 * take port 1883. An outside subscriber times each verdict's arrival against its `capturedAt`.
 *
 * Bounds, chosen for a 2-core CI machine running one test file at a time, with headroom over a
 * quiet one (measured there: p99 ~16 ms decided, up to ~7 ms more to the subscriber). On a machine
 * whose 2 cores are shared with several other builds (load 5–15), inference alone slowed to ~45 ms
 * p50 and this test failed, rightly: the deadline was not met. The failure message carries the
 * daemon's own stop stats to tell the two apart.
 * - every PASS/FAIL arrives at most MARGIN_MS after its deadline (capturedAt + 30 + 35 ms);
 * - every TIMEOUT arrives no earlier than its deadline and at most MARGIN_MS after it;
 * - at most MAX_TIMEOUTS of the FRAMES frames are TIMEOUT (the model takes ~8–17 ms, so the line
 *   is mostly answered); a daemon that answers every frame TIMEOUT fails here.
 */
const FRAMES = 80;
const DEADLINE_MS = 30;
/**
 * With nothing else running, single TIMEOUTs still arrived 16 ms after their deadline (the daemon's
 * event-loop delay reaches ~24 ms at worst on 2 vCPUs); 35 ms, as in plc-deadline.test.ts, is that
 * plus the hop, and still far below the 50+ ms a commit or a late timer would add.
 */
const MARGIN_MS = 35;
const MAX_TIMEOUTS = 3;

const cleanups = new Cleanups();
let daemon: DaemonProcess;
let sub: Subscriber;
let exitCode: number | null;

beforeAll(async () => {
  const broker = await TestBroker.start();
  cleanups.add(() => broker.stop());
  sub = await Subscriber.connect(broker.url, 'inspectd/station1/verdict');
  cleanups.add(() => sub.close());
  // No -c: the embedded default, as `npm start` runs it, except where the broker and database are.
  daemon = startDaemon(undefined, ['--broker', broker.url, '--db', join(tempDir('default'), 'v.db')]);
  cleanups.add(() => daemon.child.kill('SIGKILL'));
  await until(`${FRAMES} verdicts`, () => sub.verdicts().length >= FRAMES, 60_000);
  daemon.child.kill('SIGTERM');
  exitCode = await daemon.exited;
}, 90_000);

afterAll(() => cleanups.run());

/**
 * The daemon's own account at stop (inference and event-loop delay percentiles), put in failure
 * messages: an infer p50 far above the model's ~8–17 ms says the machine was starved, not the code slow.
 */
function daemonStats(): string {
  const stats = daemon.stats();
  return stats ? `daemon stop stats: ${JSON.stringify(stats)}` : 'no stop stats in the daemon log';
}

describe('the embedded default meets its 30 ms deadline at the subscriber', () => {
  it('runs the default pipeline: 30 ms deadline, the synthetic-line model, 10 fps, clean stop', () => {
    expect(daemon.stderr).toBe('');
    expect(exitCode).toBe(0);
    const v = sub.verdicts().slice(0, FRAMES);
    expect(v.every((m) => m.deadlineMs === DEADLINE_MS && m.model.name === 'synthetic-line' && m.camera === 'cam1')).toBe(true);
    const fps = ((v.length - 1) * 1000) / (v.at(-1)!.capturedAt - v[0]!.capturedAt);
    expect(fps).toBeGreaterThan(9);
    expect(fps).toBeLessThan(11);
  });

  it(`answers the line mostly PASS/FAIL: at most ${MAX_TIMEOUTS} TIMEOUTs in ${FRAMES} frames, no ERROR`, () => {
    const counts: Record<string, number> = {};
    for (const m of sub.verdicts().slice(0, FRAMES)) counts[m.verdict] = (counts[m.verdict] ?? 0) + 1;
    expect(counts.ERROR ?? 0).toBe(0);
    expect(counts.TIMEOUT ?? 0, `${JSON.stringify(counts)}; ${daemonStats()}`).toBeLessThanOrEqual(MAX_TIMEOUTS);
    expect((counts.PASS ?? 0) + (counts.FAIL ?? 0)).toBeGreaterThanOrEqual(FRAMES - MAX_TIMEOUTS);
  });

  it(`delivers every PASS/FAIL to the subscriber within deadline + ${MARGIN_MS} ms of capture`, () => {
    const late = sub
      .verdicts()
      .slice(0, FRAMES)
      .filter((m) => m.verdict === 'PASS' || m.verdict === 'FAIL')
      .filter((m) => m.receivedAt - m.capturedAt > DEADLINE_MS + MARGIN_MS)
      .map((m) => `seq ${m.seq}: received ${m.receivedAt - m.capturedAt} ms after capture (decided at ${m.latencyMs})`);
    expect(late, daemonStats()).toEqual([]);
  });

  it(`delivers every TIMEOUT at its deadline: not before, at most ${MARGIN_MS} ms after`, () => {
    const off = sub
      .verdicts()
      .slice(0, FRAMES)
      .filter((m) => m.verdict === 'TIMEOUT')
      .map((m) => ({ seq: m.seq, afterDeadline: m.receivedAt - (m.capturedAt + m.deadlineMs) }))
      // Date.now() is whole ms in both processes: -1 is the same instant.
      .filter((t) => t.afterDeadline < -1 || t.afterDeadline > MARGIN_MS);
    expect(off, daemonStats()).toEqual([]);
  });
});
