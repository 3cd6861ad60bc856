import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { AttributeIds, BrowseDirection, DataType, type DataValue } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, dbRows, sleep, tempDir, until } from '../helpers/daemon.js';
import { defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { freePort, PlcSession, type ResultReadyEvent } from '../helpers/opcua.js';

/**
 * The OPC UA server as a PLC sees it: `inspectd run` as a child process (a real mosquitto beside
 * it, the synthetic camera), node-opcua's own client over loopback. `line` runs free at 20 fps,
 * `belt` is a synthetic camera triggered over OPC UA (it draws its part on the trigger), `dead` is
 * triggered but never opens, so its parts can only end as TIMEOUT. HOME points at an empty folder:
 * node-opcua must keep nothing there.
 */
let broker: TestBroker;
let daemon: DaemonProcess;
let plc: PlcSession;
let port: number;
const home = tempDir('opcua-home');
const dir = tempDir('opcua-daemon');
const cams = 'ua.Cameras';

beforeAll(async () => {
  broker = await TestBroker.start();
  port = await freePort();
  daemon = DaemonProcess.start(
    {
      station: 'ua',
      deadlineMs: 200,
      model: { path: defaultModelJson },
      mqtt: { url: broker.url },
      opcua: { enabled: true, port },
      cameras: [
        { name: 'line', source: { type: 'synthetic', fps: 20, seed: 3 }, partId: 'frame' },
        { name: 'belt', trigger: 'opcua', source: { type: 'synthetic', fps: 1, seed: 4 } },
        { name: 'dead', trigger: 'opcua', source: { type: 'opencv', device: '/dev/inspectd-no-such-camera', api: 'v4l2' } },
      ],
    },
    { HOME: home },
    dir,
  );
  // node-opcua loads its nodesets at start, on its own thread while the cameras start: 10-14 s
  // measured at load 20-30 on this 2-vCPU box.
  await until('the daemon running', () => daemon.stdout.includes('inspectd running'), 100_000);
  await until('the OPC UA server listening', () => daemon.stdout.includes('opc ua server listening'), 100_000);
  plc = await PlcSession.open({ endpointUrl: `opc.tcp://127.0.0.1:${port}`, pkiDir: join(dir, 'plc-pki') });
}, 120_000);

afterAll(async () => {
  await plc?.close().catch(() => {});
  await daemon?.stop();
  await broker?.stop();
});

describe('the OPC UA server in the daemon', () => {
  it('shows the station: system, camera, model and storage state', async () => {
    await until('line up', () => daemon.stdout.includes('"camera":"line"') && daemon.stdout.includes('camera up'), 20_000).catch(() => {});
    // Each camera opens in its own process: the one that never opens is reported down, with why, once
    // that process has tried (1-5 s after start); until then it shows the initial down with no reason.
    for (let end = Date.now() + 20_000; Date.now() < end && (await plc.read(`${cams}.dead.CameraStateReason`)) === ''; ) await sleep(200);
    const [system, storage, line, dead, model, precision] = await plc.readMany([
      'ua.SystemState',
      'ua.StorageState',
      `${cams}.line.CameraState`,
      `${cams}.dead.CameraState`,
      `${cams}.line.Model.Name`,
      `${cams}.line.Model.Precision`,
    ]);
    expect(system).toBe('Operational');
    expect(storage).toBe('ok');
    expect(line).toBe('up');
    expect(dead).toBe('down');
    expect(model).toBe('synthetic-line');
    expect(['fp32', 'int8']).toContain(precision);
    expect(await plc.read(`${cams}.dead.CameraStateReason`)).not.toBe('');
  });

  it('delivers every verdict of a 20 fps camera to a subscription for 5 s, no seq missing', async () => {
    const seen: number[] = [];
    const sub = await plc.monitor(`${cams}.line.LastResult.Seq`, (dv: DataValue) => seen.push(dv.value.value as number));
    await sleep(5000);
    await sub.terminate();
    const changes = seen.slice(1); // the first notification is the value at subscription time
    // 20 fps for 5 s is 100; a loaded 2-core box delivers fewer frames, never fewer verdicts than frames.
    expect(changes.length, `seen ${changes.length}`).toBeGreaterThanOrEqual(60);
    const first = changes[0]!;
    const last = changes.at(-1)!;
    // Every verdict the log holds for this camera between the first and the last seen, each once, in order.
    await until('rows committed', () => dbRows(daemon.dbPath).some((r) => r.seq >= last), 10_000);
    const logged = dbRows(daemon.dbPath)
      .filter((r) => r.camera === 'line' && r.seq >= first && r.seq <= last)
      .map((r) => r.seq);
    expect(changes).toEqual(logged);
  }, 30_000);

  it('runs the handshake: Trigger with a partId, ResultReady, the result with that partId, acknowledge', async () => {
    const ready: boolean[] = [];
    const sub = await plc.monitor(`${cams}.belt.ResultReady`, (dv) => ready.push(dv.value.value as boolean));
    const t = await plc.call(`${cams}.belt`, 'Trigger', [{ dataType: DataType.String, value: 'P-100' }]);
    expect(t.outputs).toEqual([true, '', '']);
    await until('ResultReady', () => ready.at(-1) === true && ready.length > 1, 5000);
    const [partId, verdict, seq, resultSeq, acked] = await plc.readMany([
      `${cams}.belt.LastResult.PartId`,
      `${cams}.belt.LastResult.Verdict`,
      `${cams}.belt.LastResult.Seq`,
      `${cams}.belt.ResultSeq`,
      `${cams}.belt.ResultAcknowledged`,
    ]);
    expect(partId).toBe('P-100');
    // TIMEOUT too when this box is loaded: the frame was taken for the part, its inference was late.
    expect(['PASS', 'FAIL', 'TIMEOUT']).toContain(verdict);
    expect(await plc.read(`${cams}.belt.LastResult.FrameId`)).toBeGreaterThanOrEqual(0);
    expect(resultSeq).toBe(seq);
    expect(acked).toBe(false);
    const json = JSON.parse((await plc.read(`${cams}.belt.LastResult.ResultJson`)) as string) as { seq: number; partId: string };
    expect(json).toMatchObject({ seq, partId: 'P-100' });
    // A stale acknowledgement (another seq) changes nothing; the right one clears ResultReady.
    expect((await plc.call(`${cams}.belt`, 'AcknowledgeResult', [{ dataType: DataType.UInt32, value: (seq as number) + 1000 }])).outputs).toEqual([false]);
    expect(await plc.read(`${cams}.belt.ResultReady`)).toBe(true);
    expect((await plc.call(`${cams}.belt`, 'AcknowledgeResult', [{ dataType: DataType.UInt32, value: seq }])).outputs).toEqual([true]);
    expect(await plc.readMany([`${cams}.belt.ResultReady`, `${cams}.belt.ResultAcknowledged`])).toEqual([false, true]);

    // The same through variables, for a PLC that cannot call methods: write ResultAcknowledged := true.
    await plc.call('ua', 'Trigger', [
      { dataType: DataType.String, value: 'belt' },
      { dataType: DataType.String, value: 'P-101' },
    ]);
    await until('second result', () => ready.at(-1) === true && ready.filter((r) => r).length >= 2, 5000);
    expect(await plc.read(`${cams}.belt.LastResult.PartId`)).toBe('P-101');
    expect(await plc.read(`${cams}.belt.ResultAcknowledged`)).toBe(false);
    expect(await plc.write(`${cams}.belt.ResultAcknowledged`, true)).toBe('Good');
    await until('ResultReady cleared', () => ready.at(-1) === false, 2000);
    await sub.terminate();
    const rows = dbRows(daemon.dbPath).filter((r) => r.camera === 'belt');
    expect(rows.map((r) => r.seq)).toContain(seq);
  });

  it('is an OPC 40100 VisionSystemType: its VisionStateMachine Operational, a ResultReady event for every verdict', async () => {
    const mv = await plc.namespaceIndex('http://opcfoundation.org/UA/MachineVision');
    expect(mv).toBeGreaterThan(plc.ns);
    const typeDef = await plc.session.browse({ nodeId: plc.id('ua'), referenceTypeId: 'HasTypeDefinition', browseDirection: BrowseDirection.Forward, resultMask: 63 });
    expect(typeDef.references?.map((r) => r.browseName.toString())).toEqual([`${mv}:VisionSystemType`]);
    const state = await plc.session.read({ nodeId: plc.id('ua-VisionStateMachine-CurrentState'), attributeId: AttributeIds.Value });
    expect((state.value.value as { text: string }).text).toBe('Operational');

    const events: ResultReadyEvent[] = [];
    const sub = await plc.monitorResultReady('ua', (e) => events.push(e));
    const t = await plc.call(`${cams}.belt`, 'Trigger', [{ dataType: DataType.String, value: 'P-200' }]);
    expect(t.outputs[0]).toBe(true);
    await until("the belt part's ResultReady event", () => events.some((e) => e.partId === 'P-200'), 5000);
    await sleep(1500); // the free-running camera's events meanwhile
    await sub.terminate();
    const belt = events.find((e) => e.partId === 'P-200')!;
    const verdict = JSON.parse(belt.content[0]!) as { seq: number; verdict: string; partId: string; camera: string };
    expect(belt.sourceName).toBe('belt');
    expect(verdict).toMatchObject({ camera: 'belt', partId: 'P-200' });
    expect(belt.resultId).toBe(String(verdict.seq));
    // ResultState is how processing went (1 Completed, 3 Aborted at the deadline); the verdict is in ResultContent.
    expect(belt.resultState).toBe(verdict.verdict === 'TIMEOUT' ? 3 : 1);
    expect(belt.isPartial).toBe(false);
    expect(belt.recipe).toMatchObject({ id: 'synthetic-line' });
    // The part's job is the one StartSingleJob names (camera/partId), whichever way it was triggered; free-running frames are the continuous job's.
    expect(belt.jobId).toBe('belt/P-200');
    expect(new Set(events.filter((e) => e.sourceName === 'line').map((e) => e.jobId))).toEqual(new Set(['continuous']));
    // One event per verdict of the 20 fps camera, in seq order, as the log has them.
    const line = events.filter((e) => e.sourceName === 'line').map((e) => Number(e.resultId));
    expect(line.length, `line events ${line.length}`).toBeGreaterThanOrEqual(10);
    await until('rows committed', () => dbRows(daemon.dbPath).some((r) => r.seq >= line.at(-1)!), 10_000);
    const logged = dbRows(daemon.dbPath)
      .filter((r) => r.camera === 'line' && r.seq >= line[0]! && r.seq <= line.at(-1)!)
      .map((r) => r.seq);
    expect(line).toEqual(logged);
  }, 30_000);

  it('gives a trigger whose camera takes no frame TIMEOUT with frameId -1 at its deadline', async () => {
    const seqBefore = (await plc.read(`${cams}.dead.ResultSeq`)) as number;
    const t0 = Date.now();
    const t = await plc.call(`${cams}.dead`, 'Trigger', [{ dataType: DataType.String, value: 'D-1' }]);
    expect(t.outputs[0]).toBe(true);
    let values: unknown[] = [];
    const end = Date.now() + 3000;
    while (Date.now() < end) {
      values = await plc.readMany([`${cams}.dead.ResultReady`, `${cams}.dead.ResultSeq`, `${cams}.dead.LastResult.Verdict`, `${cams}.dead.LastResult.FrameId`, `${cams}.dead.LastResult.PartId`]);
      if (values[0] === true && values[1] !== seqBefore) break;
      await sleep(20);
    }
    expect(values.slice(2)).toEqual(['TIMEOUT', -1, 'D-1']);
    // Due at arrival + 200 ms; it was not answered before then.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(await plc.read(`${cams}.dead.ResultCounts.Timeout`)).toBeGreaterThanOrEqual(1);
  });

  it('takes MQTT and OPC UA triggers at one desk, and refuses what the MQTT trigger refuses', async () => {
    const client = await mqtt.connectAsync(broker.url, { clientId: 'plc-mqtt' });
    const errors: Array<{ code: string }> = [];
    client.on('message', (_t, p) => errors.push(JSON.parse(p.toString()) as { code: string }));
    await client.subscribeAsync('inspectd/ua/trigger/error', { qos: 1 });
    // Waiting on the dead camera (200 ms); the same part through OPC UA is a duplicate of the MQTT one.
    await client.publishAsync('inspectd/ua/trigger', JSON.stringify({ camera: 'dead', partId: 'D-2' }), { qos: 1 });
    await sleep(30);
    const dup = await plc.call(`${cams}.dead`, 'Trigger', [{ dataType: DataType.String, value: 'D-2' }]);
    expect(dup.outputs.slice(0, 2)).toEqual([false, 'INSPECTD_TRIGGER_DUPLICATE']);
    const freeRun = await plc.call(`${cams}.line`, 'Trigger', [{ dataType: DataType.String, value: 'L-1' }]);
    expect(freeRun.outputs.slice(0, 2)).toEqual([false, 'INSPECTD_TRIGGER_UNKNOWN_CAMERA']);
    const nowhere = await plc.call('ua', 'Trigger', [
      { dataType: DataType.String, value: 'nowhere' },
      { dataType: DataType.String, value: 'X' },
    ]);
    expect(nowhere.outputs.slice(0, 2)).toEqual([false, 'INSPECTD_TRIGGER_UNKNOWN_CAMERA']);
    const empty = await plc.call(`${cams}.belt`, 'Trigger', [{ dataType: DataType.String, value: '' }]);
    expect(empty.outputs.slice(0, 2)).toEqual([false, 'INSPECTD_TRIGGER_INVALID']);
    await sleep(400);
    await client.endAsync();
    // OPC UA refusals are answered to the caller, not published on the MQTT error topic.
    expect(errors).toEqual([]);
    const d2 = dbRows(daemon.dbPath).filter((r) => r.camera === 'dead');
    expect(d2.length).toBeGreaterThanOrEqual(2);
  });

  it('speaks OPC UA on the wire: tshark decodes Hello, OpenSecureChannel and Publish responses on loopback', async () => {
    const capture = join(dir, 'opcua.pcapng');
    const tshark = spawnTshark(port, capture);
    try {
      await until('tshark capturing', () => tshark.stderr.includes('Capturing on'), 20_000);
      await sleep(1000); // "Capturing on" comes a moment before the filter is live
      const s = await PlcSession.open({ endpointUrl: `opc.tcp://127.0.0.1:${port}`, pkiDir: join(dir, 'plc-pki') });
      let changes = 0;
      const sub = await s.monitor(`${cams}.line.LastResult.Seq`, () => changes++);
      await until('two notifications', () => changes >= 3, 10_000);
      await sub.terminate();
      await s.close();
      await sleep(500);
    } finally {
      tshark.child.kill('SIGINT');
      await tshark.exited;
    }
    const lines = decodeOpcua(capture, port);
    const types = new Set(lines.map((l) => l.split('\t')[0]));
    const services = new Set(lines.flatMap((l) => (l.split('\t')[1] ?? '').split(',')));
    expect([...types]).toEqual(expect.arrayContaining(['HEL', 'ACK', 'OPN', 'MSG', 'CLO']));
    // Numeric encoding ids of the service messages: 446 OpenSecureChannelRequest, 829 PublishResponse.
    expect([...services]).toEqual(expect.arrayContaining(['446', '829']));
  }, 60_000);

  it('keeps nothing in HOME: the server certificate and PKI are beside the verdict log', () => {
    expect(existsSync(join(dir, 'opcua-pki', 'server', 'own', 'certs', 'certificate.pem'))).toBe(true);
    expect(existsSync(join(dir, 'opcua-pki', 'server', 'trusted'))).toBe(true);
    // (ONNX Runtime keeps a telemetry device id under ~/.cache/Microsoft: not ours to move.)
    const inHome = readdirSync(home, { recursive: true }).map(String);
    expect(inHome.filter((p) => /opc|pki|\.pem$|\.der$/i.test(p))).toEqual([]);
    expect(inHome).not.toContain('.config');
  });
});

/** Debian's tshark capturing loopback (root may capture on lo) to a file, filtered on the server's port. */
function spawnTshark(port: number, file: string): { child: ChildProcess; stderr: string; exited: Promise<number | null> } {
  const child = spawn('tshark', ['-i', 'lo', '-f', `tcp port ${port}`, '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  const t = { child, stderr: '', exited: new Promise<number | null>((res) => child.once('exit', (c) => res(c))) };
  child.stderr.on('data', (c: Buffer) => (t.stderr += c.toString()));
  return t;
}

/** The capture decoded as OPC UA on that port: one line per message, its transport type and service encoding ids. */
function decodeOpcua(file: string, port: number): string[] {
  const r = spawnSync('tshark', ['-r', file, '-d', `tcp.port==${port},opcua`, '-Y', 'opcua', '-T', 'fields', '-e', 'opcua.transport.type', '-e', 'opcua.servicenodeid.numeric'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}
