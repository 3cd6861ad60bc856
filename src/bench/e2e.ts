import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { DaemonStats } from '../daemon.js';
import { packageRoot } from '../paths.js';
import { freePort } from '../util/free-port.js';
import type { BenchOpcuaClient, OpcuaClientCount, OpcuaClientMode } from './opcua-client.js';
import { PageWatchers, type PageWatcherFigures } from './page-watchers.js';
import { ascending, percentile, round2 } from './stats.js';
import { BenchSubscriber, type ReceivedVerdict } from './subscriber.js';

export interface E2eRun {
  /** The user's config (model, inference, deadline) as parsed YAML; cameras, broker and storage are the bench's. */
  baseConfig: Record<string, unknown>;
  offeredFps: number;
  cameras: number;
  width: number;
  height: number;
  seconds: number;
  warmupS: number;
  /** Stand-in for a slow disk: each commit of the verdict log takes this long (0: the real disk only). */
  commitDelayMs?: number;
  /** Run the OPC UA server with a client subscribed to every camera's result (the bench's own, beside its MQTT subscriber). */
  opcua?: boolean;
  /** Where that client runs (opcua-client.ts): idle (default), a process of its own under SCHED_IDLE, as a remote client takes none of the daemon's cores; inline, in the bench process. */
  opcuaClient?: OpcuaClientMode;
  /** Operator pages watching the live view during the run (Server-Sent Events + frame fetches). */
  pages?: number;
}

export interface E2eFigures {
  offeredFps: number;
  received: number;
  /** Capture → verdict received by the bench's own MQTT subscriber (PASS/FAIL/ERROR). */
  p50Ms: number;
  /** p95 and the mean: steadier per round than the p99 (the 3rd-worst of 300 frames), for the OPC UA equivalence test. */
  p95Ms: number;
  meanMs: number;
  p99Ms: number;
  p999Ms: number;
  /** Each answer's capture → receipt, ms, in arrival order: for statistics pooled over rounds (bench/opcua-stall.ts). */
  frameLatenciesMs: number[];
  /** PASS/FAIL verdicts received per second: what the daemon answers in time. */
  answeredFps: number;
  timeouts: number;
  /** TIMEOUTs plus verdicts received after their deadline. */
  deadlineMisses: number;
  /** TIMEOUT received minus its deadline. */
  timeoutMarginP99Ms: number;
  timeoutMarginMaxMs: number;
  daemon: DaemonStats | undefined;
  /** The bench process's CPU in the counting window, % of a core (with --opcua-client inline, its OPC UA client's decoding; the MQTT subscriber is a process of its own). */
  benchCpuPctOfCore: number;
  /** With --opcua: what the OPC UA subscriber got while the MQTT subscriber counted. */
  opcua?: {
    seqNotifications: number;
    resultJsonNotifications: number;
    verdictsMissing: number;
    /** Where the client ran: 'SCHED_IDLE' or 'nice 19' (its own process), 'inline' (the bench's). */
    client: string;
    /** Its own process's CPU in the counting window, % of a core (absent inline: it is in benchCpuPctOfCore). */
    clientCpuPctOfCore?: number;
    /** From the server thread's start to its listening (node-opcua's nodeset load, the certificate on a first start). */
    startMs: number;
    /** Whether the cameras were already running when it listened (they do not wait for it). */
    listenedAfterCamerasRan: boolean;
    /** How late results reached the client: receipt minus decidedAt, ms (its 50 ms publishing interval included). */
    lateMs?: { p50: number; p99: number; max: number };
    /** The server thread's scheduling as the kernel had it (opcua.policy, opcua.nice): 'SCHED_IDLE', 'nice 5'. */
    priority: string;
    /** The server thread's event-loop utilisation from listening to stop, in % of one core. */
    serverThreadBusyPct?: number;
    /** Its CPU time in that interval (the kernel's schedstat), and that per verdict it applied: the cost, not inflated by waiting for a core. */
    serverThreadCpuMs?: number;
    serverCpuPerVerdictMs?: number;
  };
  /** What the watching pages received (absent without pages). */
  pages?: PageWatcherFigures;
}

/**
 * The whole daemon as a plant runs it, as a child process: synthetic cameras at the offered rate,
 * the configured model, the embedded broker, a real SQLite file. Latency is taken where the PLC
 * is: when the bench's own subscriber receives the verdict, not the daemon's decidedAt.
 */
export async function measureE2e(run: E2eRun, baseDir: string, onProgress: (line: string) => void): Promise<E2eFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'inspectd-bench-'));
  const port = await freePort();
  const opcuaPort = run.opcua ? await freePort() : 0;
  // Its own HTTP port: the default 9464 may be another daemon's on this machine.
  const httpPort = await freePort();
  const model = (run.baseConfig.model ?? {}) as Record<string, unknown>;
  const perCamFps = run.offeredFps / run.cameras;
  const cfg = {
    ...run.baseConfig,
    station: 'bench',
    model: { ...model, path: resolve(baseDir, (model.path as string | undefined) ?? 'models/synthetic-line/model.json') },
    cameras: Array.from({ length: run.cameras }, (_, i) => ({
      name: `cam${i + 1}`,
      source: { type: 'synthetic', fps: perCamFps, width: run.width, height: run.height, seed: 42 + i, distinctParts: 32 },
    })),
    mqtt: { embeddedBroker: { port } },
    // The config file's opcua settings (its nice, say) kept; where it listens is the bench's.
    ...(run.opcua ? { opcua: { ...((run.baseConfig.opcua as object | undefined) ?? {}), enabled: true, port: opcuaPort, pkiDir: join(dir, 'opcua-pki') } } : {}),
    http: { ...((run.baseConfig.http as object | undefined) ?? {}), enabled: true, host: '127.0.0.1', port: httpPort },
    storage: { path: join(dir, 'bench.db') },
    log: { level: 'info', format: 'json' },
  };
  const cfgPath = join(dir, 'bench.yaml');
  writeFileSync(cfgPath, stringify(cfg));

  const child = spawn(process.execPath, [join(packageRoot(), 'dist/src/cli/main.js'), 'run', '-c', cfgPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(run.commitDelayMs ? { INSPECTD_TEST_COMMIT_DELAY_MS: String(run.commitDelayMs) } : {}) },
  });
  let daemonStats: DaemonStats | undefined;
  let running = false;
  /** The OPC UA server loads on its own thread while the cameras start: when it listened, and whether the cameras were already running. */
  let opcuaListening: { afterRunning: boolean; startMs: number; priority: string } | undefined;
  let opcuaStopped: { serverThreadBusyPct: number; serverThreadCpuMs?: number; cpuPerVerdictMs?: number } | undefined;
  let stderr = '';
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (line.includes('"inspectd running"')) running = true;
      if (line.includes('"opc ua server stopped"')) opcuaStopped = JSON.parse(line) as typeof opcuaStopped;
      if (line.includes('"opc ua server listening"')) {
        const l = JSON.parse(line) as { startMs: number; priority: string };
        opcuaListening = { afterRunning: running, startMs: l.startMs, priority: l.priority };
      }
      if (!line.includes('"stopped"')) continue;
      try {
        daemonStats = (JSON.parse(line) as { stats: DaemonStats }).stats;
      } catch {
        // Not the stop line.
      }
    }
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));

  let opcua: BenchOpcuaClient | undefined;
  let pages: PageWatchers | undefined;
  const sub = BenchSubscriber.start(`mqtt://127.0.0.1:${port}`, 'inspectd/bench/verdict');

  try {
    const startBy = Date.now() + 60_000;
    while (!sub.subscribed) {
      if (Date.now() > startBy || child.exitCode !== null || sub.exited) throw new Error(`daemon did not start: ${stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (run.opcua) {
      // The OPC UA server loads its nodesets on its own thread, not before the cameras: subscribe once it listens.
      while (!opcuaListening) {
        if (Date.now() > startBy + 60_000 || child.exitCode !== null) throw new Error(`daemon did not start: ${stderr.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const { openOpcuaClient } = await import('./opcua-client.js');
      opcua = await openOpcuaClient(run.opcuaClient ?? 'idle', `opc.tcp://127.0.0.1:${opcuaPort}`, dir, 'bench', cfg.cameras.map((c) => c.name));
    }
    if (run.pages) {
      pages = new PageWatchers(`http://127.0.0.1:${httpPort}`, run.pages);
      pages.open();
    }
    await new Promise((r) => setTimeout(r, run.warmupS * 1000));
    sub.count(true);
    opcua?.count(true);
    pages?.startCounting();
    const t0 = Date.now();
    // This process's CPU in the window: with --opcua-client inline it includes the bench's own OPC UA client, on the same cores as the daemon.
    const cpu0 = process.cpuUsage();
    for (let s = 1; s <= run.seconds; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      onProgress(`e2e ${run.offeredFps} fps x${run.cameras} ${run.width}x${run.height}: ${s}/${run.seconds} s, ${sub.received} verdicts, ${sub.timeouts} TIMEOUT`);
    }
    sub.count(false);
    // The counting window only: the waits below are not time the line was answering.
    const elapsedS = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const benchCpuPctOfCore = round2((cpu.user + cpu.system) / 1e4 / elapsedS);
    opcua?.count(false);
    const got = await sub.finish();
    const { latencies, margins, answered, timeouts, lateAnswers, seen } = tally(got);
    // Let the last publish cycle reach the OPC UA client before its count is read.
    if (opcua) await new Promise((r) => setTimeout(r, 500));
    const counted = await opcua?.finish();
    opcua = undefined;
    const opcuaFigures: E2eFigures['opcua'] = counted
      ? {
          ...opcuaCompare(seen, counted),
          client: counted.placement,
          ...lateness(counted.lateMs),
          ...(counted.cpuMs !== undefined ? { clientCpuPctOfCore: round2(counted.cpuMs / 10 / elapsedS) } : {}),
          startMs: opcuaListening!.startMs,
          listenedAfterCamerasRan: opcuaListening!.afterRunning,
          priority: opcuaListening!.priority,
        }
      : undefined;
    const pageFigures = pages?.figures();
    pages?.close();
    child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) throw new Error(`daemon exited ${code}: ${stderr.slice(-2000)}`);
    if (opcuaFigures && opcuaStopped) {
      opcuaFigures.serverThreadBusyPct = opcuaStopped.serverThreadBusyPct;
      opcuaFigures.serverThreadCpuMs = opcuaStopped.serverThreadCpuMs;
      opcuaFigures.serverCpuPerVerdictMs = opcuaStopped.cpuPerVerdictMs;
    }
    const lat = ascending(latencies);
    const mar = ascending(margins);
    return {
      offeredFps: run.offeredFps,
      received: got.length,
      p50Ms: round2(percentile(lat, 50)),
      p95Ms: round2(percentile(lat, 95)),
      meanMs: round2(lat.reduce((a, b) => a + b, 0) / lat.length),
      p99Ms: round2(percentile(lat, 99)),
      p999Ms: round2(percentile(lat, 99.9)),
      frameLatenciesMs: latencies.map(round2),
      answeredFps: round2(answered / elapsedS),
      timeouts,
      deadlineMisses: timeouts + lateAnswers,
      timeoutMarginP99Ms: round2(percentile(mar, 99)),
      timeoutMarginMaxMs: round2(mar.at(-1) ?? NaN),
      daemon: daemonStats,
      benchCpuPctOfCore,
      ...(opcuaFigures ? { opcua: opcuaFigures } : {}),
      ...(pageFigures ? { pages: pageFigures } : {}),
    };
  } finally {
    await opcua?.kill();
    pages?.close();
    sub.kill();
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

function lateness(lateMs: readonly number[]): Pick<NonNullable<E2eFigures['opcua']>, 'lateMs'> {
  if (lateMs.length === 0) return {};
  const s = ascending(lateMs);
  return { lateMs: { p50: round2(percentile(s, 50)), p99: round2(percentile(s, 99)), max: round2(s.at(-1)!) } };
}

/** Latency of each answer (capture → receipt) and margin of each TIMEOUT (receipt − deadline). */
function tally(got: readonly ReceivedVerdict[]) {
  const latencies: number[] = [];
  const margins: number[] = [];
  let answered = 0;
  let timeouts = 0;
  let lateAnswers = 0;
  const seen = new Map<string, number[]>();
  for (const r of got) {
    if (!seen.has(r.camera)) seen.set(r.camera, []);
    seen.get(r.camera)!.push(r.seq);
    const due = r.capturedAt + r.deadlineMs;
    if (r.verdict === 'TIMEOUT') {
      timeouts++;
      margins.push(r.at - due);
      continue;
    }
    latencies.push(r.at - r.capturedAt);
    if (r.at > due) lateAnswers++;
    else if (r.verdict !== 'ERROR') answered++;
  }
  return { latencies, margins, answered, timeouts, lateAnswers, seen };
}

/**
 * Verdicts the MQTT subscriber counted that the OPC UA subscriber never saw (per camera, within the
 * seq range both counted: the two windows open and close a moment apart).
 */
function opcuaCompare(mqttSeqs: ReadonlyMap<string, number[]>, ua: OpcuaClientCount): Pick<NonNullable<E2eFigures['opcua']>, 'seqNotifications' | 'resultJsonNotifications' | 'verdictsMissing'> {
  let missing = 0;
  let notifications = 0;
  for (const [camera, seqs] of ua.seqs) {
    notifications += seqs.length;
    if (seqs.length === 0) continue;
    const got = new Set(seqs);
    const lo = Math.min(...seqs);
    const hi = Math.max(...seqs);
    missing += (mqttSeqs.get(camera) ?? []).filter((q) => q >= lo && q <= hi && !got.has(q)).length;
  }
  return { seqNotifications: notifications, resultJsonNotifications: ua.jsonNotifications, verdictsMissing: missing };
}
