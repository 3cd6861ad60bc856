import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opencv } from '../../src/preprocess/opencv.js';
import { Subscriber, until } from '../helpers/daemon.js';
import { defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { metric, protocEncode, SparkplugHost, type SparkplugMessage } from '../helpers/sparkplug.js';
import { DaemonProcess, tempDir, waitFor, writeConfig } from '../ops/helpers.js';

/**
 * The Sparkplug 3.0 parts beyond births and data, against a real mosquitto, the daemon as a child
 * process and every payload decoded by Debian's protoc:
 * - a primary host (`primaryHostId: scada1`): no birth while its STATE is not online, the verdicts
 *   waiting in the log; births and that backlog, as history, once it is online; on its STATE offline
 *   (its will, when the host's connection dies) NDEATH and silence until it is back; a stale STATE
 *   (older timestamp) ignored;
 * - DDEATH when a camera goes down (cam2: a video file that is not there at first, then one that
 *   ends and is reopened, again and again), DBIRTH when it is back, and when a reload removes it;
 * - metric aliases: births give name and alias (unique over the node), data the alias only;
 * - DCMD `Device Control/Rebirth` (named by alias only) answered with that camera's DBIRTH;
 * - NDATA with the node's counters and backlog.
 * One session model checks every message: seq continuous from each NBIRTH, DDATA/DDEATH only of a
 * device born on that session, nothing between an NDEATH and the next NBIRTH.
 */
const STATION = 'line9';
const STATE_TOPIC = 'spBv1.0/STATE/scada1';
let broker: TestBroker;
let host: SparkplugHost;
let plc: Subscriber;
let daemon: DaemonProcess;
let dir: string;
let db: string;
let video: string;
const at = { beforeHost: 0, dcmd: 0, hostGone: 0, hostBack: 0, reload: 0, afterReload: 0 };
const life: Record<string, unknown> = {};

const camera1 = ['  - name: cam1', '    partId: frame', '    source:', '      type: synthetic', '      fps: 10', '      seed: 4'];
const camera2 = () => ['  - name: cam2', '    source:', '      type: opencv', `      device: ${video}`, '      maxFailedGrabs: 2', '      reconnect:', '        initialMs: 200', '        maxMs: 400'];
const config = (cameras: string[][]) =>
  [
    `station: ${STATION}`,
    'deadlineMs: 500',
    'model:',
    `  path: ${defaultModelJson}`,
    'mqtt:',
    `  url: ${broker.url}`,
    '  reconnectMs: 200',
    'outputs:',
    '  sparkplug:',
    '    groupId: plant',
    '    primaryHostId: scada1',
    '    nodeDataIntervalS: 1',
    'http:',
    '  enabled: false',
    'archive:',
    '  enabled: false',
    'shutdown:',
    '  drainMs: 3000',
    'cameras:',
    ...cameras.flat(),
    'storage:',
    `  path: ${db}`,
    'log:',
    '  level: info',
    '  format: json',
    '',
  ].join('\n');

/** The primary host coming online as Sparkplug 3.0 says: STATE online retained, its will the same with online false. */
async function primaryHost(timestamp: number): Promise<MqttClient> {
  const offline = JSON.stringify({ online: false, timestamp });
  const c = await mqtt.connectAsync(broker.url, { clientId: `scada1-${timestamp}`, reconnectPeriod: 0, will: { topic: STATE_TOPIC, payload: Buffer.from(offline), qos: 1, retain: true } });
  await c.publishAsync(STATE_TOPIC, JSON.stringify({ online: true, timestamp }), { qos: 1, retain: true });
  return c;
}

/** The edge node's own messages (not STATE, not the host's commands). */
const node = () => host.messages.filter((m) => m.topic.startsWith('spBv1.0/plant/') && m.type !== 'NCMD' && m.type !== 'DCMD');
const index = () => host.messages.length;
const since = (i: number, type?: string, device?: string) => host.messages.slice(i).filter((m) => (!type || m.type === type) && (!device || m.device === device));
const verdictSeq = (m: SparkplugMessage) => metric(host.decode(m), 'seq')!.value as number;
const historical = (m: SparkplugMessage) => metric(host.decode(m), 'seq')!.historical;

function sql<T>(q: string, ...args: unknown[]): T[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(q).all(...args) as T[];
  } finally {
    d.close();
  }
}
const owed = () => sql<{ seq: number }>(`SELECT seq FROM outbox WHERE output = 'sparkplug' ORDER BY seq`).map((r) => r.seq);

beforeAll(async () => {
  dir = tempDir('spb-host');
  db = join(dir, 'verdicts.db');
  video = join(dir, 'cam2.avi');
  broker = await TestBroker.start();
  host = await SparkplugHost.connect(broker.url);
  plc = await Subscriber.connect(broker.url, `inspectd/${STATION}/#`);
  await host.client.publishAsync(STATE_TOPIC, '', { qos: 1, retain: true }); // no STATE left by anyone

  // 1. No primary host yet: MQTT verdicts flow, Sparkplug stays silent, its verdicts wait in the log.
  const file = writeConfig(dir, config([camera1, camera2()]));
  daemon = DaemonProcess.start(file);
  // 50 (5 s at 10 fps): a backlog well above what is owed in steady state (about a second's verdicts
  // await their confirmation window), so that NDATA's backlog going down shows the history was sent.
  await until('50 MQTT verdicts', () => plc.verdicts().length >= 50, 60_000);
  at.beforeHost = index();
  life.owedBeforeHost = owed().length;

  // 2. The host online: births, the backlog as history, then live. Then cam2's file appears.
  const t1 = Date.now();
  let scada = await primaryHost(t1);
  await until('NBIRTH', () => since(at.beforeHost).some((m) => m.type === 'NBIRTH'), 20_000);
  await until('live DDATA after the backlog', () => since(at.beforeHost, 'DDATA').some((m) => !historical(m)), 30_000);
  const writer = new (opencv().VideoWriter)(video, opencv().VideoWriter.fourcc('MJPG'), 25, new (opencv().Size)(64, 48), true);
  for (let i = 0; i < 4; i++) writer.write(new (opencv().Mat)(48, 64, opencv().CV_8UC3, [40 + 30 * i, 90, 160]));
  writer.release();
  await until('cam2 born, dead and born again twice', () => since(at.beforeHost, 'DDEATH', 'cam2').length >= 2 && since(at.beforeHost, 'DBIRTH', 'cam2').length >= 3, 60_000);

  // 3. DCMD Device Control/Rebirth for cam1, named by its alias only (as a host may).
  const lastBirth1 = since(0, 'DBIRTH', 'cam1').at(-1)!;
  const rebirthAlias = metric(host.decode(lastBirth1), 'Device Control/Rebirth')!.alias!;
  at.dcmd = index();
  host.client.publish(`spBv1.0/plant/DCMD/${STATION}/cam1`, protocEncode(`timestamp: ${Date.now()}\nmetrics { alias: ${rebirthAlias} timestamp: ${Date.now()} datatype: 11 boolean_value: true }\n`));
  await until('cam1 DBIRTH after the DCMD', () => since(at.dcmd, 'DBIRTH', 'cam1').length >= 1, 10_000);
  await until('two NDATA', () => since(at.beforeHost, 'NDATA').length >= 2, 10_000);

  // 4. The host dies (its connection dropped: the broker sends its will, STATE offline): NDEATH, then silence.
  at.hostGone = index();
  (scada as unknown as { stream: { destroy(): void } }).stream.destroy();
  await scada.endAsync(true).catch(() => {});
  await until('NDEATH after the host went', () => since(at.hostGone, 'NDEATH').length >= 1, 20_000);
  const plcAtGone = plc.verdicts().length;
  // A STATE online older than the offline one (a stale retained message): ignored.
  await host.client.publishAsync(STATE_TOPIC, JSON.stringify({ online: true, timestamp: t1 - 1000 }), { qos: 1, retain: false });
  await until('30 MQTT verdicts while the host is away', () => plc.verdicts().length >= plcAtGone + 30, 30_000);
  life.owedWhileAway = owed();

  // 5. The host back with a newer timestamp: NBIRTH with a new bdSeq, and what it missed, as history.
  at.hostBack = index();
  // (Until its NDEATH the node could not know: the broker sends the host's will when it sees the connection gone.)
  const death = host.messages.findIndex((m, i) => i >= at.hostGone && m.type === 'NDEATH');
  life.silentWhileAway = host.messages.slice(death + 1, at.hostBack).filter((m) => m.topic.startsWith('spBv1.0/plant/')).length;
  scada = await primaryHost(Date.now());
  await until('live DDATA after the host is back', () => since(at.hostBack, 'DDATA').some((m) => !historical(m)), 30_000);

  // 6. A reload removes cam2 (DDEATH if it was born); a rebirth then births cam1 only.
  at.reload = index();
  const seen = daemon.logs.length;
  writeConfig(dir, config([camera1]));
  daemon.child.kill('SIGHUP');
  await waitFor('the reload', () => daemon.logs.slice(seen).find((l) => l.event === 'config.reloaded' || l.event === 'config.reload_refused'), 60_000);
  at.afterReload = index();
  host.client.publish(`spBv1.0/plant/NCMD/${STATION}`, protocEncode(`timestamp: ${Date.now()}\nmetrics { name: "Node Control/Rebirth" timestamp: ${Date.now()} datatype: 11 boolean_value: true }\n`));
  await until('the rebirth and 5 DDATA after it', () => since(at.afterReload, 'NBIRTH').length >= 1 && since(at.afterReload, 'DDATA').length >= 5, 20_000);

  // 7. A clean stop with the host online: everything delivered, NDEATH last.
  life.exit = await daemon.stop();
  await until('the final NDEATH', () => since(at.afterReload, 'NDEATH').length >= 1, 10_000);
  await scada.endAsync();
}, 300_000);

afterAll(async () => {
  daemon?.kill();
  await host?.close();
  await plc?.close();
  await broker?.stop();
});

describe('Sparkplug B primary host, device deaths, aliases, DCMD and NDATA', () => {
  it('sends nothing before the primary host is online, keeping the verdicts in the log; then births, the backlog as history, then live', () => {
    expect(host.messages.slice(0, at.beforeHost).filter((m) => m.topic.startsWith('spBv1.0/plant/'))).toEqual([]);
    expect(life.owedBeforeHost as number).toBeGreaterThanOrEqual(15);
    const first = since(at.beforeHost).filter((m) => m.topic.startsWith('spBv1.0/plant/'));
    // cam2 was down (its file not there) before the host came: no DBIRTH for it in this birth.
    expect(first.slice(0, 2).map((m) => m.topic)).toEqual([`spBv1.0/plant/NBIRTH/${STATION}`, `spBv1.0/plant/DBIRTH/${STATION}/cam1`]);
    expect(metric(host.decode(first[0]!), 'backlog')!.value as number).toBeGreaterThanOrEqual(15);
    const ddata = first.filter((m) => m.type === 'DDATA');
    const backlog = ddata.slice(0, ddata.findIndex((m) => !historical(m)));
    expect(backlog.length).toBeGreaterThanOrEqual(life.owedBeforeHost as number);
    const seqs = backlog.map(verdictSeq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('keeps every message inside a session: seq continuous from each NBIRTH, DDATA and DDEATH only of a device born on that session', () => {
    let born = new Set<string>();
    let inSession = false;
    let expected = 0;
    for (const m of node()) {
      if (m.type === 'NDEATH') {
        inSession = false;
        continue;
      }
      const p = host.decode(m);
      expect(inSession || m.type === 'NBIRTH', `${m.type} outside a session`).toBe(true);
      if (m.type === 'NBIRTH') {
        inSession = true;
        born = new Set();
        expected = 0;
      }
      expect(p.seq, m.topic).toBe(expected);
      expected = (expected + 1) % 256;
      if (m.type === 'DBIRTH') born.add(m.device!);
      if (m.type === 'DDATA' || m.type === 'DDEATH') expect(born.has(m.device!), `${m.type} of ${m.device} not born`).toBe(true);
      if (m.type === 'DDEATH') born.delete(m.device!);
    }
  });

  it('sends DDEATH when a camera goes down and DBIRTH when it is back, as its MQTT camera status says', () => {
    // Up to the host's going: its NDEATH ends every device, and the next NBIRTH births cam2 again without a DDEATH.
    const cam2 = host.messages.slice(at.beforeHost, at.hostGone).filter((m) => m.device === 'cam2' && (m.type === 'DBIRTH' || m.type === 'DDEATH'));
    expect(cam2.length).toBeGreaterThanOrEqual(4);
    // Alternating, born first: it was down before the session began.
    cam2.forEach((m, i) => expect(m.type).toBe(i % 2 === 0 ? 'DBIRTH' : 'DDEATH'));
    const states = plc.messages.filter((m) => m.topic === `inspectd/${STATION}/camera/cam2/status`).map((m) => (JSON.parse(m.payload) as { state: string }).state);
    expect(states.filter((s) => s === 'down').length).toBeGreaterThanOrEqual(2);
    expect(host.decode(cam2[1]!).metrics).toEqual([]);
  });

  it('gives every metric a name and an alias in the births, unique over the node, and data the alias only', () => {
    const births = node().filter((m) => m.type === 'NBIRTH' || m.type === 'DBIRTH');
    const aliasOf = new Map<number, string>();
    for (const m of births) {
      for (const x of host.decode(m).metrics) {
        expect(x.named && x.alias !== undefined, `${m.topic} ${x.name}`).toBe(true);
        const key = `${m.device ?? ''}/${x.name}`;
        if (aliasOf.has(x.alias!)) expect(aliasOf.get(x.alias!)).toBe(key);
        else aliasOf.set(x.alias!, key);
      }
    }
    expect(new Set(aliasOf.values()).size).toBe(aliasOf.size);
    const data = node().filter((m) => m.type === 'DDATA' || m.type === 'NDATA');
    expect(data.length).toBeGreaterThan(50);
    for (const m of data) {
      for (const x of host.decode(m).metrics) {
        expect(x.named, m.topic).toBe(false);
        expect(aliasOf.get(x.alias!)?.startsWith(`${m.device ?? ''}/`), `${m.topic} alias ${x.alias}`).toBe(true);
      }
    }
    // A DDATA by alias carries the same verdict as the MQTT JSON of that seq.
    const json = new Map(plc.verdicts().map((v) => [v.seq, v]));
    for (const m of data.filter((d) => d.type === 'DDATA').slice(0, 20)) {
      expect(metric(host.decode(m), 'verdict')!.value).toBe(json.get(verdictSeq(m))!.verdict);
    }
  });

  it('answers DCMD Device Control/Rebirth with that camera\'s DBIRTH on the same session', () => {
    const after = since(at.dcmd).filter((m) => m.topic.startsWith('spBv1.0/plant/') && m.type !== 'DCMD');
    const i = after.findIndex((m) => m.type === 'DBIRTH' && m.device === 'cam1');
    expect(i).toBeGreaterThanOrEqual(0);
    expect(after.slice(0, i).some((m) => m.type === 'NBIRTH')).toBe(false);
    expect(metric(host.decode(after[i]!), 'Device Control/Rebirth')).toMatchObject({ datatype: 11, value: false });
  });

  it('sends NDATA with the node counters when they change, the backlog going down once sent', () => {
    const session = host.messages.slice(at.beforeHost, at.hostGone);
    const nbirth = host.decode(session.find((m) => m.type === 'NBIRTH')!);
    const nd = session.filter((m) => m.type === 'NDATA').map((m) => host.decode(m));
    expect(nd.length).toBeGreaterThanOrEqual(2);
    // Report by exception: each NDATA carries what changed; the host's tags are the birth's values, updated.
    const tags = new Map(nbirth.metrics.map((x) => [x.name!, x.value]));
    const totals: number[] = [];
    const backlogs: number[] = [];
    const total = () => ['PASS', 'FAIL', 'TIMEOUT', 'ERROR'].reduce((n, v) => n + (tags.get(`count/${v}`) as number), 0);
    for (const p of nd) {
      expect(p.metrics.length).toBeGreaterThan(0);
      for (const x of p.metrics) {
        expect(tags.has(x.name!), `NDATA metric ${x.name}`).toBe(true);
        tags.set(x.name!, x.value);
      }
      totals.push(total());
      backlogs.push(tags.get('backlog') as number);
    }
    for (let i = 1; i < totals.length; i++) expect(totals[i]!).toBeGreaterThanOrEqual(totals[i - 1]!);
    expect(totals.at(-1)!).toBeGreaterThan(20);
    // The birth's backlog (what waited for the host) is sent: a later NDATA says less is owed.
    expect(Math.min(...backlogs)).toBeLessThan(metric(nbirth, 'backlog')!.value as number);
  });

  it('on the host\'s STATE offline sends NDEATH (that session\'s bdSeq) and nothing more until it is back; a stale STATE is ignored', () => {
    expect(life.silentWhileAway).toBe(0);
    expect((life.owedWhileAway as number[]).length).toBeGreaterThanOrEqual(25);
    const death = host.decode(since(at.hostGone, 'NDEATH')[0]!);
    const births = since(0, 'NBIRTH').filter((m) => m.receivedAt <= since(at.hostGone, 'NDEATH')[0]!.receivedAt);
    expect(metric(death, 'bdSeq')!.value).toBe(metric(host.decode(births.at(-1)!), 'bdSeq')!.value);
  });

  it('when the host is back births with a new bdSeq and sends what it missed first, as history, in seq order', () => {
    const back = since(at.hostBack).filter((m) => m.topic.startsWith('spBv1.0/plant/'));
    expect(back[0]!.type).toBe('NBIRTH');
    const bdBefore = metric(host.decode(since(at.beforeHost, 'NBIRTH')[0]!), 'bdSeq')!.value;
    expect(metric(host.decode(back[0]!), 'bdSeq')!.value).not.toBe(bdBefore);
    const ddata = back.filter((m) => m.type === 'DDATA');
    const firstLive = ddata.findIndex((m) => !historical(m));
    const hist = ddata.slice(0, firstLive).map(verdictSeq);
    for (const seq of life.owedWhileAway as number[]) expect(hist, `seq ${seq}`).toContain(seq);
    expect(hist).toEqual([...hist].sort((a, b) => a - b));
  });

  it('sends DDEATH for a camera a reload removed (when born) and births it no more', () => {
    const reload = host.messages.slice(at.reload, at.afterReload).filter((m) => m.device === 'cam2');
    const bornAtReload = (() => {
      let born = false;
      for (const m of host.messages.slice(0, at.reload)) {
        if (m.type === 'NBIRTH' || m.type === 'NDEATH') born = false;
        if (m.device === 'cam2' && m.type === 'DBIRTH') born = true;
        if (m.device === 'cam2' && m.type === 'DDEATH') born = false;
      }
      return born;
    })();
    if (bornAtReload) expect(reload.some((m) => m.type === 'DDEATH')).toBe(true);
    const rebirth = since(at.afterReload).filter((m) => m.topic.startsWith('spBv1.0/plant/'));
    const nb = rebirth.findIndex((m) => m.type === 'NBIRTH');
    expect(rebirth.slice(nb, nb + 2).map((m) => m.topic)).toEqual([`spBv1.0/plant/NBIRTH/${STATION}`, `spBv1.0/plant/DBIRTH/${STATION}/cam1`]);
    expect(rebirth.filter((m) => m.device === 'cam2' && m.type !== 'DDEATH')).toEqual([]);
  });

  it('delivers every logged verdict over Sparkplug by the clean stop, a repeat only as history', () => {
    expect(life.exit).toBe(0);
    expect(owed()).toEqual([]);
    const sent = new Map<number, boolean[]>();
    for (const m of node().filter((x) => x.type === 'DDATA')) sent.set(verdictSeq(m), [...(sent.get(verdictSeq(m)) ?? []), historical(m)]);
    const logged = sql<{ seq: number }>('SELECT seq FROM verdicts ORDER BY seq').map((r) => r.seq);
    expect(logged.length).toBeGreaterThan(50);
    for (const seq of logged) expect(sent.has(seq), `seq ${seq}`).toBe(true);
    for (const [seq, copies] of sent) if (copies.length > 1) expect(copies.slice(1).every(Boolean), `seq ${seq} repeated live`).toBe(true);
    console.log(JSON.stringify({ sparkplugHostFigures: { logged: logged.length, delivered: sent.size, repeats: [...sent.values()].filter((c) => c.length > 1).length, owedBeforeHost: life.owedBeforeHost, owedWhileAway: (life.owedWhileAway as number[]).length } }));
  });
});
