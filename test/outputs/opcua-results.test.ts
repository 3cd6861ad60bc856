import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { AttributeIds, DataType, Variant } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbRows as logRows } from '../helpers/daemon.js';
import type { VerdictRow } from '../../src/record/store.js';

const dbRows = (db: string) => logRows(db) as unknown as VerdictRow[];
import { defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { MachineVisionClient, MV_TYPES } from '../helpers/machine-vision.js';
import { freePort, type PlcSession } from '../helpers/opcua.js';
import { startOpcuaStation, stopOpcuaStation } from '../helpers/opcua-station.js';
import { sleep, tempDir, waitFor, writeConfig, type DaemonProcess } from '../ops/helpers.js';

/**
 * OPC 40100's ResultManagement and the VisionStateMachine's Halt / Reset, called by node-opcua's
 * client on `inspectd run` (a child process: a real mosquitto, the synthetic camera, ONNX Runtime on
 * the real model, the verdict log in SQLite): results read back from the log by ResultId and by
 * filter, bad arguments refused, Halt pausing the line and Reset resuming it.
 */
let dir: string;
let broker: TestBroker;
let daemon: DaemonProcess;
let plc: PlcSession;
let vision: MachineVisionClient;
const home = tempDir('opcua-results-home');
const RM = 'ua-ResultManagement';
const SM = 'ua-VisionStateMachine';

interface ResultData {
  resultId: { id: string };
  resultState: number;
  partId?: { id: string } | null;
  internalRecipeId: { id: string; version: string };
  jobId: { id: string };
  resultContent: Array<{ value: string }> | null;
}

const ID_TYPES = MV_TYPES;
const structure = (typeId: number, fields: Record<string, unknown>) => vision.structure(typeId, fields);
const call = (object: string, method: string, args: Variant[]) => vision.call(object, method, args);


const getById = async (id: string) => call(RM, 'GetResultById', [await structure(ID_TYPES.resultId, { id }), new Variant({ dataType: DataType.Int32, value: 1000 })]);

async function listFiltered(o: { resultState?: number; partId?: string; jobId?: string; maxResults?: number; startIndex?: number }): Promise<{ status: string; outputs: unknown[] }> {
  const empty = (t: number) => structure(t, {});
  return call(RM, 'GetResultListFiltered', [
    new Variant({ dataType: DataType.Int32, value: o.resultState ?? 0 }),
    await empty(ID_TYPES.measId),
    await structure(ID_TYPES.partId, o.partId ? { id: o.partId } : {}),
    await empty(ID_TYPES.externalRecipeId),
    await empty(ID_TYPES.internalRecipeId),
    await empty(ID_TYPES.configurationId),
    await empty(ID_TYPES.configurationId),
    await empty(ID_TYPES.productId),
    await structure(ID_TYPES.jobId, o.jobId ? { id: o.jobId } : {}),
    new Variant({ dataType: DataType.UInt32, value: o.maxResults ?? 0 }),
    new Variant({ dataType: DataType.UInt32, value: o.startIndex ?? 0 }),
    new Variant({ dataType: DataType.Int32, value: 1000 }),
  ]);
}

/** Halt's and Reset's inputs: Cause (Int32) and CauseDescription. */
const cause = (description: string) => [new Variant({ dataType: DataType.Int32, value: 7 }), new Variant({ dataType: DataType.String, value: description })];
const TOKEN = 'opcua-results-token';
const content = (r: ResultData) => JSON.parse(r.resultContent![0]!.value) as { seq: number; verdict: string; partId: string; camera: string };

beforeAll(async () => {
  dir = tempDir('opcua-results');
  const port = await freePort();
  broker = await TestBroker.start();
  const config = [
    'station: ua',
    'deadlineMs: 1000',
    'model:',
    `  path: ${defaultModelJson}`,
    'cameras:',
    '  - name: line',
    '    partId: frame',
    '    source: { type: synthetic, fps: 5, seed: 7 }',
    'opcua:',
    '  enabled: true',
    `  port: ${port}`,
    'storage:',
    `  path: ${join(dir, 'verdicts.db')}`,
    'http:',
    `  tokenFile: ${join(dir, 'token')}`,
    'log: { level: info, format: json }',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  ({ daemon, plc } = await startOpcuaStation(writeConfig(dir, config), { dir, brokerUrl: broker.url, port, home }));
  vision = await MachineVisionClient.open(plc);
  await waitFor('ten verdicts in the log', () => dbRows(join(dir, 'verdicts.db')).length >= 10, 60_000);
}, 200_000);

afterAll(async () => {
  await stopOpcuaStation({ daemon, plc });
  await broker?.stop();
});

describe('OPC 40100 ResultManagement and the state machine methods', () => {
  it('GetResultById gives the logged verdict for its seq; an unknown seq says so; a ResultId that is no seq is refused', async () => {
    const row = dbRows(join(dir, 'verdicts.db'))[3]!;
    const r = await getById(String(row.seq));
    expect(r.status).toBe('Good');
    const [handle, result, error] = r.outputs as [number, ResultData, number];
    expect(error).toBe(0);
    expect(handle).toBeGreaterThan(0); // a handle of its own (handles.ts), not the seq
    expect(result.resultId.id).toBe(String(row.seq));
    expect(result.partId?.id).toBe(row.part_id);
    expect(result.internalRecipeId.id).toBe('synthetic-line');
    // A free-running camera's frame, a PartId of its own (partId: frame) or not, is the continuous job's.
    expect(result.jobId.id).toBe('continuous');
    expect(result.resultState).toBe(row.verdict === 'TIMEOUT' ? 3 : row.verdict === 'ERROR' ? 4 : 1);
    expect(content(result)).toMatchObject({ seq: row.seq, verdict: row.verdict, partId: row.part_id, camera: 'line' });

    const unknown = await getById('99999999');
    expect(unknown.status).toBe('Good');
    expect(unknown.outputs[2]).toBe(-1);
    expect((await getById('not-a-seq')).status).toBe('BadInvalidArgument');
    // A plain string where the type says ResultIdDataType: node-opcua refuses it before our handler.
    const wrongType = await call(RM, 'GetResultById', [new Variant({ dataType: DataType.String, value: String(row.seq) }), new Variant({ dataType: DataType.Int32, value: 0 })]);
    expect(wrongType.status).not.toBe('Good');
  });

  it('GetResultListFiltered lists newest first, filters by PartId and ResultState, refuses what it cannot filter on', async () => {
    const rows = dbRows(join(dir, 'verdicts.db'));
    const page = await listFiltered({ maxResults: 3 });
    expect(page.status).toBe('Good');
    const [complete, count, , list, error] = page.outputs as [boolean, number, number, ResultData[], number];
    expect([complete, count, error]).toEqual([false, 3, 0]);
    const seqs = list.map((r) => Number(r.resultId.id));
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));

    const part = rows[2]!;
    const byPart = await listFiltered({ partId: part.part_id! });
    expect(byPart.outputs.slice(0, 2)).toEqual([true, 1]);
    expect(content((byPart.outputs[3] as ResultData[])[0]!)).toMatchObject({ seq: part.seq, partId: part.part_id });

    // ResultState 1 (Completed) is PASS and FAIL: a TIMEOUT or ERROR never in it.
    const completed = (await listFiltered({ resultState: 1, maxResults: 20 })).outputs[3] as ResultData[];
    expect(completed.length).toBeGreaterThan(0);
    expect(completed.every((r) => ['PASS', 'FAIL'].includes(content(r).verdict))).toBe(true);

    expect((await listFiltered({ resultState: 2 })).status).toBe('BadInvalidArgument');
    expect((await listFiltered({ jobId: 'job-1' })).status).toBe('BadNotSupported');
  });

  it('Halt pauses the line and shows Halted (the list then pages by StartIndex); a second Halt is refused; Reset resumes it, Operational again', async () => {
    const seq = () => plc.read('ua.Cameras.line.LastResult.Seq') as Promise<number>;
    const state = async () => ((await plc.session.read({ nodeId: plc.id(`${SM}-CurrentState`), attributeId: AttributeIds.Value })).value.value as { text: string }).text;
    expect(await state()).toBe('Operational');
    expect((await call(SM, 'Reset', cause('nothing to reset'))).status).toBe('BadInvalidState');
    // Halt without its arguments: node-opcua refuses the call before it reaches the line.
    expect((await call(SM, 'Halt', [])).status).toBe('BadArgumentsMissing');
    expect(await state()).toBe('Operational');

    const halt = await call(SM, 'Halt', cause('changeover'));
    expect(halt).toEqual({ status: 'Good', outputs: [0] });
    expect(await state()).toBe('Halted');
    expect(await plc.read('ua.SystemState')).toBe('Halted');
    await waitFor('the pause in the log', () => daemon.logs.find((l) => l.event === 'line.paused' && l.via === 'opc ua'), 5000);
    // In-flight frames settle, then nothing is judged while halted (5 fps: a verdict every 200 ms otherwise).
    await sleep(1500);
    const halted = await seq();
    await sleep(1500);
    expect(await seq()).toBe(halted);
    // Paging, while nothing new comes in to shift the pages: StartIndex 3 goes on where 3 results ended.
    const ids = async (o: { maxResults: number; startIndex?: number }) => ((await listFiltered(o)).outputs[3] as ResultData[]).map((r) => Number(r.resultId.id));
    const six = await ids({ maxResults: 6 });
    expect(await ids({ maxResults: 3, startIndex: 3 })).toEqual(six.slice(3));
    expect((await call(SM, 'Halt', cause('again'))).status).toBe('BadInvalidState');
    expect(daemon.logs.find((l) => l.event === 'opcua.halted')).toMatchObject({ cause: 7, description: 'changeover' });

    expect((await call(SM, 'Reset', cause('changeover done'))).status).toBe('Good');
    expect(await state()).toBe('Operational');
    expect(await plc.read('ua.SystemState')).toBe('Operational');
    await waitFor('verdicts again', async () => (await seq()) > halted, 10_000);
    expect(daemon.logs.some((l) => l.event === 'line.resumed' && l.via === 'opc ua')).toBe(true);
  }, 30_000);

  it('shows a pause made over MQTT as Halted and its resume as Operational; Reset ends an MQTT pause too', async () => {
    const client = await mqtt.connectAsync(broker.url);
    const command = (id: string, name: 'pause' | 'resume') => client.publishAsync('inspectd/ua/cmd', JSON.stringify({ id, command: name, token: TOKEN }), { qos: 1 });
    const systemState = () => plc.read('ua.SystemState') as Promise<string>;
    try {
      expect(await systemState()).toBe('Operational');
      await command('p1', 'pause');
      await waitFor('Halted after the MQTT pause', async () => (await systemState()) === 'Halted', 10_000);
      // The line is paused already: a Halt is refused, as from Halted.
      expect((await call(SM, 'Halt', cause('already paused'))).status).toBe('BadInvalidState');
      await command('r1', 'resume');
      await waitFor('Operational after the MQTT resume', async () => (await systemState()) === 'Operational', 10_000);
      // Paused by MQTT, resumed by OPC UA's Reset.
      await command('p2', 'pause');
      await waitFor('Halted after the second MQTT pause', async () => (await systemState()) === 'Halted', 10_000);
      expect((await call(SM, 'Reset', cause('resumed from the PLC'))).status).toBe('Good');
      expect(await systemState()).toBe('Operational');
      await waitFor('the resume in the log', () => daemon.logs.filter((l) => l.event === 'line.resumed').length >= 3, 5000);
    } finally {
      await client.endAsync();
    }
  }, 60_000);
});
