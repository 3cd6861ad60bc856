/**
 * Whole-pipeline benchmark: the real daemon (synthetic camera → OpenCV preprocessing → ONNX
 * Runtime worker → decoder → SQLite → embedded mosquitto) at a given frame rate, measuring what a
 * plant cares about: verdict latency from capture, the share of TIMEOUTs, how late a TIMEOUT is
 * published after its deadline, main-thread stalls, and memory growth.
 *
 *   node dist/bench/pipeline.js [--seconds 20] [--fps 30] [--deadline 30] [--workers 1] [--threads 1] [--precision int8|fp32] [--warmup 3]
 *
 * The first --warmup seconds (JIT, ORT's first runs, MQTT connect) are run but not counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { parseConfig } from '../src/config/load.js';
import { Daemon } from '../src/daemon.js';
import { packageRoot } from '../src/paths.js';
import { VerdictStore } from '../src/record/store.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    fps: { type: 'string', default: '30' },
    deadline: { type: 'string', default: '30' },
    workers: { type: 'string', default: '1' },
    threads: { type: 'string', default: '1' },
    precision: { type: 'string', default: 'auto' },
    model: { type: 'string', default: join(packageRoot(), 'models/synthetic-line/model.json') },
  },
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const dir = mkdtempSync(join(tmpdir(), 'inspectd-bench-'));
const dbPath = join(dir, 'bench.db');
const cfg = parseConfig(
  {
    station: 'bench',
    deadlineMs: Number(args.deadline),
    model: { path: args.model, precision: args.precision },
    inference: { workers: Number(args.workers), threads: Number(args.threads) },
    cameras: [{ name: 'cam1', source: { type: 'synthetic', fps: Number(args.fps), seed: 42 } }],
    mqtt: { embeddedBroker: { port: await freePort() } },
    storage: { path: dbPath },
  },
  'bench',
);
const daemon = new Daemon({ config: cfg, log: pino({ level: 'warn' }) });
await daemon.start();
await new Promise((r) => setTimeout(r, Number(args.warmup) * 1000));
const countFrom = Date.now();
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
const rss0 = process.memoryUsage().rss;
loopDelay.enable();
await new Promise((r) => setTimeout(r, Number(args.seconds) * 1000));
loopDelay.disable();
const rss1 = process.memoryUsage().rss;
await daemon.stop();

const store = new VerdictStore({ path: dbPath, readonly: true });
const all = store.list({});
store.close();
const rows = all.filter((r) => r.captured_at >= countFrom);
const lat = rows.filter((r) => r.verdict === 'PASS' || r.verdict === 'FAIL').map((r) => r.latency_ms).sort((a, b) => a - b);
const timeouts = rows.filter((r) => r.verdict === 'TIMEOUT');
const lateBy = timeouts.map((r) => r.latency_ms - r.deadline_ms).sort((a, b) => a - b);
const result = {
  model: daemon.modelInfo,
  fps: Number(args.fps),
  seconds: Number(args.seconds),
  deadlineMs: Number(args.deadline),
  workers: Number(args.workers),
  threads: Number(args.threads),
  frames: rows.length,
  pass: rows.filter((r) => r.verdict === 'PASS').length,
  fail: rows.filter((r) => r.verdict === 'FAIL').length,
  timeout: timeouts.length,
  error: rows.filter((r) => r.verdict === 'ERROR').length,
  unpublished: all.filter((r) => r.published_at === null).length,
  latencyMs: { p50: pct(lat, 50), p95: pct(lat, 95), p99: pct(lat, 99), max: lat.at(-1) },
  timeoutPublishedAfterDeadlineMs: { p50: pct(lateBy, 50), p99: pct(lateBy, 99), max: lateBy.at(-1) },
  eventLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
  rssMiB: { start: +(rss0 / 2 ** 20).toFixed(1), end: +(rss1 / 2 ** 20).toFixed(1) },
};
rmSync(dir, { recursive: true, force: true });
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
