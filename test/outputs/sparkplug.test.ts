import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, Subscriber, tempDir, until } from '../helpers/daemon.js';
import { defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { metric, protocEncode, SparkplugHost, type ProtocPayload } from '../helpers/sparkplug.js';

/**
 * The Sparkplug B output against real mosquittos, seen from outside: the daemon as a child process,
 * its MQTT JSON verdicts on one broker (a PLC gateway's persistent subscriber), its Sparkplug
 * session on another (a SCADA host), every Sparkplug payload decoded by Debian's protoc. One life
 * after another on one log: births and data, a rebirth on NCMD, the Sparkplug broker down while
 * MQTT goes on, a restart that sends each output's backlog, the death certificate on SIGKILL.
 */
let plcBroker: TestBroker;
let scadaBroker: TestBroker;
let plc: Subscriber;
let host: SparkplugHost;
const dir = tempDir('spb');
const db = join(dir, 'verdicts.db');

function config() {
  return {
    station: 'line7',
    deadlineMs: 300,
    model: { path: defaultModelJson },
    mqtt: { url: plcBroker.url },
    outputs: { sparkplug: { groupId: 'plant', broker: { url: scadaBroker.url, reconnectMs: 200 } } },
    http: { enabled: false },
    archive: { enabled: false },
    shutdown: { drainMs: 1500 },
    cameras: [{ name: 'cam1', source: { type: 'synthetic', fps: 20, seed: 3, distinctParts: 8 } }],
    storage: { path: db },
    log: { level: 'info', format: 'json' },
  };
}

const ddataSeqs = () => host.of('DDATA').map((m) => ({ m, p: host.decode(m) }));
const verdictSeq = (p: ProtocPayload) => metric(p, 'seq')!.value as number;

/** What each life left, for the assertions below. */
const life: Record<string, unknown> = {};

beforeAll(async () => {
  plcBroker = await TestBroker.start();
  scadaBroker = await TestBroker.start();
  plc = await Subscriber.connect(plcBroker.url, 'inspectd/line7/verdict', { persistent: true });
  host = await SparkplugHost.connect(scadaBroker.url);

  // Life 1: both brokers up; a rebirth asked for; then the Sparkplug broker goes away while the line runs.
  const d1 = DaemonProcess.start(config(), {}, dir);
  await until('15 DDATA', () => host.of('DDATA').length >= 15, 40_000);
  const births = host.messages.length;
  host.client.publish(
    'spBv1.0/plant/NCMD/line7',
    protocEncode(`timestamp: ${Date.now()}\nmetrics { name: "Node Control/Rebirth" timestamp: ${Date.now()} datatype: 11 boolean_value: true }\n`),
  );
  await until('the rebirth', () => host.of('NBIRTH').length >= 2 && host.messages.length > births, 10_000);
  await until('DDATA after the rebirth', () => host.messages.at(-1)!.type === 'DDATA', 10_000);
  life.rebirthAt = host.messages.findIndex((m, i) => m.type === 'NBIRTH' && i > 0);
  await scadaBroker.kill();
  const plcAtOutage = plc.verdicts().length;
  await until('30 more MQTT verdicts while the Sparkplug broker is down', () => plc.verdicts().length >= plcAtOutage + 30, 20_000);
  life.plcDuringOutage = plc.verdicts().length - plcAtOutage;
  life.exit1 = await d1.stop();
  life.spbOwedAfter1 = owed('sparkplug');
  life.mqttOwedAfter1 = owed('mqtt');

  // Life 2: the SCADA broker back; the Sparkplug backlog goes first, as history; then SIGKILL.
  await scadaBroker.restart();
  await until('the host to reconnect', () => host.client.connected, 10_000);
  const hostBefore = host.messages.length;
  life.hostBefore2 = hostBefore;
  const d2 = DaemonProcess.start(config(), {}, dir);
  const liveIn2 = () => host.messages.slice(hostBefore).filter((m) => m.type === 'DDATA' && !metric(host.decode(m), 'seq')!.historical).length;
  await until('the backlog, then 10 live DDATA', () => liveIn2() >= 10, 40_000);
  d2.child.kill('SIGKILL');
  await d2.exited;
  await until('the death certificate', () => host.messages.slice(hostBefore).some((m) => m.type === 'NDEATH'), 10_000);
}, 180_000);

afterAll(async () => {
  await host?.close();
  await plc?.client.endAsync(true);
  await plcBroker?.stop();
  await scadaBroker?.stop();
});

function owed(output: string): number[] {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare(`SELECT seq FROM outbox WHERE output = ? ORDER BY seq`).all(output) as { seq: number }[]).map((r) => r.seq);
  } finally {
    d.close();
  }
}

function loggedSeqs(): number[] {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare(`SELECT seq FROM verdicts ORDER BY seq`).all() as { seq: number }[]).map((r) => r.seq);
  } finally {
    d.close();
  }
}

describe('Sparkplug B output', () => {
  it('births the node with bdSeq and Node Control/Rebirth, then a DBIRTH per camera, seq from 0', () => {
    const first = host.messages.slice(0, 2);
    expect(first.map((m) => m.topic)).toEqual(['spBv1.0/plant/NBIRTH/line7', 'spBv1.0/plant/DBIRTH/line7/cam1']);
    const nbirth = host.decode(first[0]!);
    expect(nbirth.seq).toBe(0);
    expect(nbirth.timestamp).toBeGreaterThan(1.7e12);
    expect(metric(nbirth, 'bdSeq')).toMatchObject({ datatype: 8, field: 'long_value' });
    expect(metric(nbirth, 'Node Control/Rebirth')).toMatchObject({ datatype: 11, field: 'boolean_value', value: false });
    const dbirth = host.decode(first[1]!);
    expect(dbirth.seq).toBe(1);
    for (const name of ['verdict', 'score', 'seq', 'partId', 'latencyMs', 'deadlineMs', 'model', 'count/PASS', 'count/FAIL', 'count/TIMEOUT', 'count/ERROR']) {
      expect(metric(dbirth, name), name).toBeDefined();
    }
    expect(metric(dbirth, 'verdict')).toMatchObject({ datatype: 12, isNull: true });
  });

  it('sends a DDATA per verdict with the verdict, score, seq, part id, timings and model of the MQTT verdict, payload seq wrapping at 256', () => {
    const json = new Map(plc.verdicts().map((v) => [v.seq, v]));
    const live = ddataSeqs().filter(({ p }) => !metric(p, 'seq')!.historical);
    expect(live.length).toBeGreaterThan(20);
    for (const { m, p } of live.slice(0, 15)) {
      const v = json.get(verdictSeq(p))!;
      expect(v, `seq ${verdictSeq(p)} on MQTT`).toBeDefined();
      expect(m.topic).toBe('spBv1.0/plant/DDATA/line7/cam1');
      expect(metric(p, 'verdict')).toMatchObject({ datatype: 12, value: v.verdict });
      if (v.score === null) expect(metric(p, 'score')!.isNull).toBe(true);
      else expect(metric(p, 'score')!.value).toBeCloseTo(v.score, 9);
      if (v.partId === null) expect(metric(p, 'partId')).toMatchObject({ datatype: 12, isNull: true });
      else expect(metric(p, 'partId')!.value).toBe(v.partId);
      expect(metric(p, 'latencyMs')!.value).toBeCloseTo(v.latencyMs, 6);
      expect(metric(p, 'deadlineMs')!.value).toBe(300);
      expect(metric(p, 'model')!.value).toBe(`${v.model.name} ${v.model.version}`);
      expect(metric(p, 'capturedAt')).toMatchObject({ datatype: 13, value: v.capturedAt });
      expect(metric(p, 'verdict')!.timestamp).toBe(v.decidedAt);
    }
    // Every message after a birth carries the next seq, mod 256, until the next NBIRTH resets it to 0.
    let expected = 0;
    for (const m of host.messages) {
      if (m.type === 'NDEATH' || m.type === 'NCMD') continue; // no seq / the host's own command
      const p = host.decode(m);
      if (m.type === 'NBIRTH') expected = 0;
      expect(p.seq, `${m.topic}`).toBe(expected);
      expected = (expected + 1) % 256;
    }
  });

  it('answers an NCMD Node Control/Rebirth with NBIRTH (same bdSeq, seq 0) and DBIRTH on the same connection', () => {
    const i = life.rebirthAt as number;
    expect(i).toBeGreaterThan(2);
    const [nb, db2] = [host.messages[i]!, host.messages[i + 1]!];
    expect([nb.type, db2.type]).toEqual(['NBIRTH', 'DBIRTH']);
    expect(metric(host.decode(nb), 'bdSeq')!.value).toBe(metric(host.decode(host.messages[0]!), 'bdSeq')!.value);
    expect(host.decode(nb).seq).toBe(0);
    // The device's birth carries its counts so far: a host rebuilding its tags loses nothing.
    const counts = ['PASS', 'FAIL', 'TIMEOUT', 'ERROR'].reduce((n, v) => n + (metric(host.decode(db2), `count/${v}`)!.value as number), 0);
    expect(counts).toBeGreaterThan(10);
  });

  it('keeps MQTT delivering while the Sparkplug broker is down, and owes Sparkplug what it missed', () => {
    expect(life.plcDuringOutage).toBeGreaterThanOrEqual(30);
    expect(life.exit1).toBe(0);
    expect(life.mqttOwedAfter1).toEqual([]);
    expect((life.spbOwedAfter1 as number[]).length).toBeGreaterThanOrEqual(30);
  });

  it('after the restart sends the Sparkplug backlog first, in seq order, as history, then live; every logged verdict once per output or still owed', () => {
    const hostBefore = life.hostBefore2 as number;
    const second = host.messages.slice(hostBefore).filter((m) => m.type === 'DDATA').map((m) => host.decode(m));
    const historical = second.filter((p) => metric(p, 'seq')!.historical);
    const owed1 = life.spbOwedAfter1 as number[];
    // The backlog: exactly what life 1 left owed, in seq order, before any live verdict.
    expect(historical.map(verdictSeq).slice(0, owed1.length)).toEqual(owed1);
    const firstLive = second.findIndex((p) => !metric(p, 'seq')!.historical);
    expect(second.slice(0, firstLive).every((p) => metric(p, 'seq')!.historical)).toBe(true);
    expect(historical.every((p) => p.metrics.every((m) => m.historical))).toBe(true);

    const ddata = (from: number, to: number) =>
      host.messages
        .slice(from, to)
        .filter((m) => m.type === 'DDATA')
        .map((m) => verdictSeq(host.decode(m)));
    const spb1 = ddata(0, hostBefore);
    const spb2 = ddata(hostBefore, host.messages.length);
    const spbSeen = [...spb1, ...spb2];
    const mqttSeen = plc.verdicts().map((v) => v.seq);
    const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);
    // In seq order and once on each connection; MQTT once overall (life 1 stopped cleanly).
    expect(ascending(spb1)).toBe(true);
    expect(ascending(spb2)).toBe(true);
    expect(ascending(mqttSeen)).toBe(true);
    // Sparkplug's only repeats: writes of life 1's last second before its broker died (unconfirmed at
    // QoS 0), sent again as history: at least once, bounded by that window (20 fps × 1 s, with slack).
    const again = spb2.filter((s) => spb1.includes(s));
    expect(again.every((s) => owed1.includes(s))).toBe(true);
    expect(again.length).toBeLessThanOrEqual(40);
    life.spbRepeats = again.length;
    const figures = () => console.log(
      JSON.stringify({ sparkplugFigures: { logged: loggedSeqs().length, spbDelivered: new Set(spbSeen).size, spbRepeats: again.length, spbOwedAtRestart: owed1.length, mqttDuringSpbOutage: life.plcDuringOutage, spbOwedAtEnd: spbOwed.size, mqttOwedAtEnd: mqttOwed.size } }),
    );
    // Nothing lost: every logged verdict was delivered by each output, or is still owed by it (SIGKILL).
    const spbOwed = new Set(owed('sparkplug'));
    const mqttOwed = new Set(owed('mqtt'));
    const spb = new Set(spbSeen);
    const mq = new Set(mqttSeen);
    for (const seq of loggedSeqs()) {
      expect(spb.has(seq) || spbOwed.has(seq), `seq ${seq} on Sparkplug`).toBe(true);
      expect(mq.has(seq) || mqttOwed.has(seq), `seq ${seq} on MQTT`).toBe(true);
    }
    figures();
  });

  it('publishes NDEATH as the will on SIGKILL, with the bdSeq of that connection\'s NBIRTH, and a restart births with the next bdSeq', () => {
    const hostBefore = life.hostBefore2 as number;
    const after = host.messages.slice(hostBefore);
    const nbirth = after.find((m) => m.type === 'NBIRTH')!;
    const ndeath = after.find((m) => m.type === 'NDEATH')!;
    expect(ndeath.topic).toBe('spBv1.0/plant/NDEATH/line7');
    const death = host.decode(ndeath);
    expect(death.seq).toBeUndefined();
    expect(metric(death, 'bdSeq')).toMatchObject({ datatype: 8 });
    const bd2 = metric(host.decode(nbirth), 'bdSeq')!.value as number;
    expect(metric(death, 'bdSeq')!.value).toBe(bd2);
    // Life 1's clean stop could not reach its broker, so its NDEATH came from the broker's side (or
    // never: the broker was gone); life 2 connected anew, so its bdSeq moved on.
    const bd1 = metric(host.decode(host.messages[0]!), 'bdSeq')!.value as number;
    expect(bd2).not.toBe(bd1);
  });
});
