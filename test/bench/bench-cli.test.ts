import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/cli/commands/bench.js';
import { cliPath } from '../helpers/model.js';

/**
 * `inspectd bench` end to end, short: the figures are the benchmark's business (bench/RESULTS.md),
 * this checks that it measures what it says: the model alone, then verdicts received over MQTT.
 */
describe('inspectd bench', () => {
  it('measures the backend alone and the whole daemon at an MQTT subscriber, and writes the figures as JSON', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'inspectd-bench-')), 'b.json');
    const r = spawnSync(process.execPath, [cliPath, 'bench', '--seconds', '3', '--rate', '8', '--saturation', 'none', '--json', out], { encoding: 'utf8', timeout: 90_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/bench: raw p50 [\d.]+ ms/);
    expect(r.stdout).toMatch(/e2e p50 \/ p99 \/ p99.9 +\d+ \/ \d+ \/ \d+ ms \(capture -> subscriber\)/);
    const report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
    expect(report.raw.p50Ms).toBeGreaterThan(0);
    expect(report.raw.p99Ms).toBeGreaterThanOrEqual(report.raw.p50Ms);
    expect(report.raw.saturationFps).toBeGreaterThan(0);
    expect(report.e2e.offeredFps).toBe(8);
    // 3 s at 8 fps, counted at the subscriber: about 24 verdicts, each with a latency.
    expect(report.e2e.received).toBeGreaterThanOrEqual(15);
    expect(report.e2e.p50Ms).toBeGreaterThan(0);
    expect(report.e2e.daemon?.submitted).toBeGreaterThanOrEqual(report.e2e.received);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.model).toMatchObject({ name: 'synthetic-line', backend: 'onnxruntime', workers: 1 });
    expect(Object.keys(report.targets)).toHaveLength(4);
  }, 100_000);
});
