import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { measureE2e, type E2eFigures } from '../../src/bench/e2e.js';
import { packageRoot } from '../../src/paths.js';

/**
 * The bench's OPC UA client where `--opcua-client` puts it, against the daemon's real node-opcua
 * server: it must still see every verdict (the subscriptions miss none), and the idle one
 * must really run under SCHED_IDLE (as the kernel has it), so that it does not take the cores a
 * remote SCADA would not.
 */
const run = (opcuaClient: 'idle' | 'inline') =>
  measureE2e({ baseConfig: {}, offeredFps: 8, cameras: 2, width: 320, height: 256, seconds: 3, warmupS: 1, opcua: true, opcuaClient }, packageRoot(), () => {});

function expectEveryVerdict(e2e: E2eFigures): void {
  const ua = e2e.opcua!;
  expect(e2e.received).toBeGreaterThanOrEqual(12);
  expect(ua.verdictsMissing).toBe(0);
  // The two counting windows open and close a moment apart: at most a verdict or two a camera at each end.
  expect(ua.seqNotifications).toBeGreaterThanOrEqual(e2e.received - 4);
  expect(ua.resultJsonNotifications).toBeGreaterThanOrEqual(e2e.received - 4);
  // How late each result reached it: receipt minus decidedAt on one clock, never before the verdict.
  expect(ua.lateMs!.p50).toBeGreaterThanOrEqual(0);
  expect(ua.lateMs!.p50).toBeLessThanOrEqual(ua.lateMs!.p99);
  expect(ua.lateMs!.p99).toBeLessThanOrEqual(ua.lateMs!.max);
  expect(ua.lateMs!.max).toBeLessThan(2000);
  // The frames the pooled statistics are taken from: one per answer, and the percentiles agree with them.
  expect(e2e.frameLatenciesMs).toHaveLength(e2e.received - e2e.timeouts);
  expect(e2e.p95Ms).toBeGreaterThanOrEqual(e2e.p50Ms);
  expect(e2e.p95Ms).toBeLessThanOrEqual(e2e.p99Ms);
  expect(Math.max(...e2e.frameLatenciesMs)).toBeGreaterThanOrEqual(e2e.p99Ms);
}

describe('bench OPC UA client', () => {
  it('idle: a process of its own under SCHED_IDLE that sees every verdict, its CPU its own', async () => {
    const e2e = await run('idle');
    expectEveryVerdict(e2e);
    const hasChrt = spawnSync('chrt', ['-i', '0', 'true']).status === 0;
    expect(e2e.opcua!.client).toBe(hasChrt ? 'SCHED_IDLE' : 'nice 19');
    expect(e2e.opcua!.clientCpuPctOfCore).toBeGreaterThan(0);
    // The daemon's server thread under opcua.policy's default (idle, since 2026-12-02), as the kernel has it.
    expect(e2e.opcua!.priority).toBe(hasChrt ? 'SCHED_IDLE' : 'nice 5');
  }, 150_000);

  it('inline: in the bench process, every verdict seen', async () => {
    const e2e = await run('inline');
    expectEveryVerdict(e2e);
    expect(e2e.opcua!.client).toBe('inline');
    expect(e2e.opcua!.clientCpuPctOfCore).toBeUndefined();
  }, 150_000);
});
