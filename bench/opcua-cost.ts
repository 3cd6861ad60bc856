/**
 * What the OPC UA server costs the frame path: the main-thread time of OpcuaOutput.decided() (the
 * call the verdict sink makes at verdict time; the server itself runs on its own thread, so this is
 * the cost of posting the verdict to it) with a client subscribed to every result field that
 * matters (Seq and ResultJson, samplingInterval 0), and the event-loop delay while verdicts flow,
 * against the same verdict loop with no server. The client runs in a child process, as a SCADA
 * would, so its decoding is not counted as the server's. Verdicts are offered at --rate per second.
 *
 *   node dist/bench/opcua-cost.js [--verdicts 1000] [--rate 100] [--json FILE]
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pino from 'pino';
import { parseConfig } from '../src/config/load.js';
import { openOpcuaServer } from '../src/outputs/opcua/open.js';
import { freePort } from '../src/util/free-port.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import type { VerdictMessage } from '../src/verdict/types.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined;

if (process.argv[2] === '--client') {
  // The subscriber: counts Seq notifications and reports them to the parent when asked.
  const { OPCUAClient, OPCUACertificateManager, ClientSubscription, ClientMonitoredItem, AttributeIds, TimestampsToReturn } = await import('node-opcua');
  const url = process.argv[3]!;
  const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 }, clientCertificateManager: new OPCUACertificateManager({ rootFolder: process.argv[4]! }) });
  await client.connect(url);
  const session = await client.createSession();
  const sub = ClientSubscription.create(session, { requestedPublishingInterval: 50, requestedLifetimeCount: 600, requestedMaxKeepAliveCount: 20, maxNotificationsPerPublish: 0, publishingEnabled: true, priority: 10 });
  const seqs: number[] = [];
  let json = 0;
  const params = { samplingInterval: 0, discardOldest: false, queueSize: 10_000 };
  const seqItem = ClientMonitoredItem.create(sub, { nodeId: 'ns=1;s=cost.Cameras.cam1.LastResult.Seq', attributeId: AttributeIds.Value }, params, TimestampsToReturn.Both);
  seqItem.on('changed', (dv) => seqs.push(dv.value.value as number));
  const jsonItem = ClientMonitoredItem.create(sub, { nodeId: 'ns=1;s=cost.Cameras.cam1.LastResult.ResultJson', attributeId: AttributeIds.Value }, params, TimestampsToReturn.Both);
  jsonItem.on('changed', () => json++);
  // Both items must be live before the parent starts offering, or the first verdicts are not watched.
  await Promise.all([seqItem, jsonItem].map((item) => new Promise((r) => item.once('initialized', r))));
  process.send!({ ready: true });
  process.on('message', async () => {
    await new Promise((r) => setTimeout(r, 1000));
    process.send!({ seqs: seqs.filter((s) => s > 0), json });
    await session.close();
    await client.disconnect();
    process.exit(0);
  });
} else {
  await main();
}

function verdict(seq: number): VerdictMessage {
  const now = Date.now();
  return {
    schema: 1,
    seq,
    station: 'cost',
    camera: 'cam1',
    frameId: seq,
    partId: `cam1-${seq}`,
    verdict: seq % 3 === 0 ? 'FAIL' : 'PASS',
    score: 0.42,
    defects: seq % 3 === 0 ? [{ label: 'scratch', score: 0.9, box: [10, 20, 30, 40] }] : [],
    capturedAt: now - 9,
    decidedAt: now,
    latencyMs: 9,
    deadlineMs: 30,
    model: { name: 'synthetic-line', version: '1.0.0', precision: 'int8', backend: 'onnxruntime' },
  };
}

/** Offers `count` verdicts at `rate`/s to `decided` (or to nothing), timing each call; returns µs samples and the loop delay. */
async function offer(count: number, rate: number, decided: ((m: VerdictMessage) => void) | undefined) {
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  const samples: number[] = [];
  // CPU time of the calls alone, summed: on a loaded box wall time includes being descheduled.
  let cpuUs = 0;
  for (let i = 1; i <= count; i++) {
    const m = verdict(i);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    decided?.(m);
    samples.push((performance.now() - t0) * 1000);
    const c = process.cpuUsage(c0);
    cpuUs += c.user + c.system;
    await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  eld.disable();
  samples.sort((a, b) => a - b);
  const q = (p: number) => Math.round(samples[Math.min(samples.length - 1, Math.floor(samples.length * p))]! * 10) / 10;
  return { decidedUs: { p50: q(0.5), p99: q(0.99), max: q(1), meanCpu: Math.round((cpuUs / count) * 10) / 10 }, eventLoopDelayMs: { p50: Math.round(eld.percentile(50) / 1e4) / 100, p99: Math.round(eld.percentile(99) / 1e4) / 100, max: Math.round(eld.max / 1e4) / 100 } };
}

async function main(): Promise<void> {
  const count = arg('--verdicts', 1000);
  const rate = arg('--rate', 100);
  const dir = mkdtempSync(join(tmpdir(), 'inspectd-opcua-cost-'));
  const port = await freePort();
  const off = await offer(count, rate, undefined);
  const config = parseConfig({ station: 'cost', storage: { path: join(dir, 'v.db') }, opcua: { enabled: true, port } }, 'bench');
  // The server thread's own figures (its CPU time and verdicts applied) come in its opcua.stopped line.
  let serverThread: Record<string, unknown> | undefined;
  const log = pino({ level: 'info' }, { write: (line: string) => void (line.includes('"opcua.stopped"') && (serverThread = JSON.parse(line) as Record<string, unknown>)) });
  const output = openOpcuaServer(
    { config, inspections: { cameras: new Map([['cam1', { modelInfo: { name: 'synthetic-line', version: '1.0.0', precision: 'int8', backend: 'onnxruntime' } }]]) }, desk: () => undefined, log },
    'bench',
    'ok',
  );
  await output.listening;
  output.start();
  const unsubscribed = await offer(count, rate, (m) => output.decided(m));
  const child = fork(process.argv[1]!, ['--client', `opc.tcp://127.0.0.1:${port}`, join(dir, 'client-pki')], { stdio: 'inherit' });
  await new Promise<void>((res) => child.once('message', () => res()));
  const base = count; // seqs continue past the unsubscribed run so the client sees only new ones
  const subscribed = await offer(count, rate, (m) => output.decided({ ...m, seq: base + m.seq }));
  child.send('report');
  const report = await new Promise<{ seqs: number[]; json: number }>((res) => child.once('message', (m) => res(m as { seqs: number[]; json: number })));
  await output.stop();
  const got = new Set(report.seqs);
  const missingSeqs = Array.from({ length: count }, (_, i) => base + i + 1).filter((s) => !got.has(s));
  const missing = missingSeqs.length;
  const result = {
    command: `node dist/bench/opcua-cost.js ${process.argv.slice(2).join(' ')}`.trim(),
    node: process.version,
    loadAverage1m: Math.round(loadavg()[0]! * 10) / 10,
    verdicts: count,
    ratePerS: rate,
    noServer: off,
    serverNoClient: unsubscribed,
    // From listening to stop, both loops (2 x verdicts applied): CPU time, so comparable across runs that were not quiet.
    serverThread: serverThread && { busyPct: serverThread.serverThreadBusyPct, cpuMs: serverThread.serverThreadCpuMs, verdicts: serverThread.verdicts, cpuPerVerdictMs: serverThread.cpuPerVerdictMs },
    serverClientSubscribed: { ...subscribed, seqNotifications: report.seqs.length, resultJsonNotifications: report.json, verdictsMissing: missing, missingSeqs: missingSeqs.slice(0, 20) },
  };
  console.log(JSON.stringify(result, null, 2));
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');
  process.exit(0);
}
