import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AttributeIds, DataType, Variant, VariantArrayType } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbRows as logRows } from '../helpers/daemon.js';
import { defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { MachineVisionClient, MV_TYPES } from '../helpers/machine-vision.js';
import { freePort, type PlcSession } from '../helpers/opcua.js';
import { startOpcuaStation, stopOpcuaStation } from '../helpers/opcua-station.js';
import { sleep, tempDir, waitFor, writeConfig, type DaemonProcess } from '../ops/helpers.js';
import type { VerdictRow } from '../../src/record/store.js';

/**
 * OPC 40100's GetResultComponentsById and result handles (the Timeout hint), RecipeManagement,
 * ConfigurationManagement (ActivateConfiguration = the live reload) and the AutomaticModeStateMachine
 * (jobs), called by node-opcua's client on `inspectd run` (a child process: a real mosquitto, two
 * synthetic cameras, one free-running and one triggered, ONNX Runtime on the real model, the
 * verdict log in SQLite, the config file edited on disk).
 */
const dbRows = (db: string) => logRows(db) as unknown as VerdictRow[];
let dir: string;
let configFile: string;
let broker: TestBroker;
let daemon: DaemonProcess;
let plc: PlcSession;
let vision: MachineVisionClient;
const home = tempDir('opcua-management-home');
const RM = 'mv-ResultManagement';
const RECIPES = 'mv-RecipeManagement';
const CONFIGS = 'mv-ConfigurationManagement';
const AUTO = 'mv-VisionStateMachine-AutomaticModeStateMachine';
const SM = 'mv-VisionStateMachine';
const ID_TYPES = MV_TYPES;
const structure = (typeId: number, fields: Record<string, unknown>) => vision.structure(typeId, fields);
const call = (object: string, method: string, args: Variant[]) => vision.call(object, method, args);

const int32 = (value: number) => new Variant({ dataType: DataType.Int32, value });
const uint32 = (value: number) => new Variant({ dataType: DataType.UInt32, value });

const resultId = (id: string) => structure(ID_TYPES.resultId, { id });
const state = async (object: string) => ((await plc.session.read({ nodeId: plc.id(`${object}-CurrentState`), attributeId: AttributeIds.Value })).value.value as { text: string }).text;
const cause = (text: string) => [int32(3), new Variant({ dataType: DataType.String, value: text })];

function config(deadlineMs: number | string): string {
  return [
    'station: mv',
    `deadlineMs: ${deadlineMs}`,
    'model:',
    `  path: ${defaultModelJson}`,
    'cameras:',
    '  - name: line',
    '    partId: frame',
    '    source: { type: synthetic, fps: 5, seed: 7 }',
    '  - name: gate',
    '    trigger: opcua',
    '    source: { type: synthetic, fps: 5, seed: 8 }',
    'opcua:',
    '  enabled: true',
    `  port: ${port}`,
    // Verdicts posted to the server's thread in batches of 500 ms, 2-3 of the 5 fps camera's in each (the other opcua tests post each one).
    '  coalesceMs: 500',
    'storage:',
    `  path: ${join(dir, 'verdicts.db')}`,
    'log: { level: info, format: json }',
    '',
  ].join('\n');
}
let port: number;

beforeAll(async () => {
  dir = tempDir('opcua-management');
  port = await freePort();
  broker = await TestBroker.start();
  configFile = writeConfig(dir, config(1000));
  ({ daemon, plc } = await startOpcuaStation(configFile, { dir, brokerUrl: broker.url, port, home }));
  vision = await MachineVisionClient.open(plc);
  await waitFor('five verdicts in the log', () => dbRows(join(dir, 'verdicts.db')).length >= 5, 60_000);
}, 200_000);

afterAll(async () => {
  await stopOpcuaStation({ daemon, plc });
  await broker?.stop();
});

describe('OPC 40100 results, recipes, configurations and jobs', () => {
  it('GetResultComponentsById gives GetResultById\'s result field by field; an unknown seq says so; a ResultId that is no seq is refused', async () => {
    const row = dbRows(join(dir, 'verdicts.db'))[2]!;
    const whole = await call(RM, 'GetResultById', [await resultId(String(row.seq)), int32(0)]);
    const r = await call(RM, 'GetResultComponentsById', [await resultId(String(row.seq)), int32(0)]);
    expect(r.status).toBe('Good');
    expect(r.outputs).toHaveLength(17);
    const [onFile, , partial, simulated, resultState, , partId, , recipe, , , , , created, , content, error] = r.outputs as [boolean, number, boolean, boolean, number, unknown, { id: string }, unknown, { id: string }, unknown, unknown, unknown, unknown, Date, unknown, Array<{ value: string }>, number];
    const result = whole.outputs[1] as { resultState: number; creationTime: Date; resultContent: Array<{ value: string }> };
    expect([onFile, partial, simulated, error]).toEqual([false, false, false, 0]);
    expect(resultState).toBe(result.resultState);
    expect(partId.id).toBe(row.part_id);
    expect(recipe.id).toBe('synthetic-line');
    expect(created.getTime()).toBe(result.creationTime.getTime());
    expect(JSON.parse(content[0]!.value)).toMatchObject({ seq: row.seq, camera: row.camera, verdict: row.verdict });
    expect((await call(RM, 'GetResultComponentsById', [await resultId('99999999'), int32(0)])).outputs[16]).toBe(-1);
    expect((await call(RM, 'GetResultComponentsById', [await resultId('seven'), int32(0)])).status).toBe('BadInvalidArgument');
  });

  it('with coalesceMs, a subscription still gets every verdict of a camera, in order', async () => {
    const seqs: number[] = [];
    const sub = await plc.monitor('mv.Cameras.line.LastResult.Seq', (dv) => seqs.push(dv.value.value as number));
    try {
      await sleep(3000);
    } finally {
      await sub.terminate();
    }
    const got = seqs.filter((s) => s > 0).slice(1); // the first is the value at subscription time
    expect(got.length).toBeGreaterThan(8); // 5 fps for 3 s
    const logged = dbRows(join(dir, 'verdicts.db')).filter((r) => r.camera === 'line' && r.seq >= got[0]! && r.seq <= got.at(-1)!).map((r) => r.seq);
    expect(got).toEqual(logged);
  });

  it('gives each call its own result handle, held for the Timeout hint or until released', async () => {
    const seq = String(dbRows(join(dir, 'verdicts.db'))[0]!.seq);
    const handle = async (timeout: number) => (await call(RM, 'GetResultById', [await resultId(seq), int32(timeout)])).outputs[0] as number;
    const release = async (h: number) => {
      const r = await call(RM, 'ReleaseResultHandle', [uint32(h)]);
      expect(r.status).toBe('Good');
      return r.outputs[0];
    };
    const a = await handle(-1);
    const b = await handle(-1);
    expect(a).not.toBe(b);
    expect(await release(a)).toBe(0);
    expect(await release(a)).toBe(-1); // released already
    expect(await release(b)).toBe(0);
    expect(await release(await handle(0))).toBe(-1); // Timeout 0: nothing needed beyond the answer
    const short = await handle(300);
    await sleep(700);
    expect(await release(short)).toBe(-1); // its Timeout ran out
    expect(await release(await handle(60_000))).toBe(0);
  });

  it('lists the model in use as the recipe, with its cameras; filters; refuses what it cannot do', async () => {
    const list = async (o: { external?: string; product?: string; prepared?: number } = {}) =>
      call(RECIPES, 'GetRecipeListFiltered', [
        await structure(ID_TYPES.externalRecipeId, o.external ? { id: o.external } : {}),
        await structure(ID_TYPES.productId, o.product ? { id: o.product } : {}),
        int32(o.prepared ?? 2),
        uint32(0),
        uint32(0),
        int32(0),
      ]);
    const all = await list();
    expect(all.status).toBe('Good');
    const [complete, count, , recipes, error] = all.outputs as [boolean, number, number, Array<{ id: string; version: string; description: { text: string } }>, number];
    expect([complete, count, error]).toEqual([true, 1, 0]);
    expect(recipes[0]).toMatchObject({ id: 'synthetic-line' });
    expect(recipes[0]!.description.text).toMatch(/line, gate/);
    expect((await list({ external: 'synthetic-line', prepared: 1 })).outputs[1]).toBe(1);
    expect((await list({ external: 'no-such-model' })).outputs[1]).toBe(0);
    expect((await list({ prepared: 0 })).outputs[1]).toBe(0);
    expect((await list({ prepared: 5 })).status).toBe('BadInvalidArgument');
    expect((await list({ product: 'pcb-7' })).status).toBe('BadNotSupported');
    const prepare = await call(RECIPES, 'PrepareRecipe', [await structure(ID_TYPES.externalRecipeId, { id: 'synthetic-line' }), await structure(3013, { id: 'synthetic-line' })]);
    expect(prepare.status).toBe('BadNotSupported');
  });

  it('runs jobs: StartSingleJob triggers the part, Stop and Abort pause the line (Ready), StartContinuous resumes it', async () => {
    const db = join(dir, 'verdicts.db');
    // StartSingleJob's and StartContinuous's inputs: MeasId, PartId, RecipeId, ProductId, Parameters.
    const jobArgs = async (partId: string, recipe = '') => [
      await structure(ID_TYPES.measId, {}),
      await structure(ID_TYPES.partId, partId ? { id: partId } : {}),
      await structure(ID_TYPES.externalRecipeId, recipe ? { id: recipe } : {}),
      await structure(ID_TYPES.productId, {}),
      new Variant({ dataType: DataType.Variant, arrayType: VariantArrayType.Array, value: [] }),
    ];
    const single = async (partId: string, recipe = '') => call(AUTO, 'StartSingleJob', await jobArgs(partId, recipe));
    const continuous = async () => call(AUTO, 'StartContinuous', await jobArgs(''));
    expect(await state(AUTO)).toBe('ContinuousExecution');
    const job = await single('job-1');
    expect(job.status).toBe('Good');
    expect(job.outputs).toEqual([expect.objectContaining({ id: 'gate/job-1' }), 0]);
    await waitFor('the job\'s verdict', () => dbRows(db).find((r) => r.part_id === 'job-1' && r.camera === 'gate'), 10_000);
    expect((await single('')).status).toBe('BadInvalidArgument');
    expect((await single('job-2', 'another-model')).status).toBe('BadInvalidArgument');
    expect((await continuous()).status).toBe('BadInvalidState');

    expect((await call(AUTO, 'Stop', cause('shift end'))).outputs).toEqual([0]);
    expect(await state(AUTO)).toBe('Ready');
    // Stopped is not Halted: the system is Operational, only not executing.
    expect(await state(SM)).toBe('Operational');
    expect(await plc.read('mv.SystemState')).toBe('Operational');
    await sleep(1500);
    const stopped = dbRows(db).length;
    await sleep(1500);
    expect(dbRows(db).length).toBe(stopped);
    expect((await single('job-3')).status).toBe('BadInvalidState');
    expect((await call(AUTO, 'Stop', cause('again'))).status).toBe('BadInvalidState');

    expect((await continuous()).status).toBe('Good');
    expect(await state(AUTO)).toBe('ContinuousExecution');
    await waitFor('verdicts again', () => dbRows(db).length > stopped, 10_000);
    expect((await call(AUTO, 'Abort', cause('jam'))).outputs).toEqual([0]);
    expect(await state(AUTO)).toBe('Ready');
    // Halt while stopped: Halted; Reset runs the line again.
    expect((await call(SM, 'Halt', cause('maintenance'))).status).toBe('Good');
    expect(await state(SM)).toBe('Halted');
    expect((await call(SM, 'Reset', cause('done'))).status).toBe('Good');
    expect(await state(SM)).toBe('Operational');
    expect(await state(AUTO)).toBe('ContinuousExecution');
    const resumed = dbRows(db).length;
    await waitFor('verdicts after Reset', () => dbRows(db).length > resumed, 10_000);
    expect(daemon.logs.filter((l) => l.event === 'opcua.job').map((l) => l.method)).toEqual(['StartSingleJob', 'Stop', 'StartContinuous', 'Abort']);
  }, 60_000);

  it('shows the config file as the configuration; ActivateConfiguration of an edited file reloads it, a bad one is refused and the line runs on', async () => {
    type Configuration = { internalId: { id: string; hash: Buffer; description: { text: string } }; lastModified: Date };
    const list = async () => (await call(CONFIGS, 'GetConfigurationList', [uint32(0), uint32(0), int32(0)])).outputs as [boolean, number, number, Configuration[], number];
    const id = async (value: string) => structure(ID_TYPES.configurationId, value ? { id: value } : {});
    const activate = async (value: string) => call(CONFIGS, 'ActivateConfiguration', [await id(value)]);
    const [, count, , [running], error] = await list();
    expect([count, error]).toEqual([1, 0]);
    expect(running!.internalId.description.text).toContain(configFile);
    expect(running!.internalId.hash.toString('hex')).toBe(running!.internalId.id);
    const byId = await call(CONFIGS, 'GetConfigurationById', [await id(running!.internalId.id), int32(0)]);
    expect((byId.outputs[1] as Configuration).internalId.id).toBe(running!.internalId.id);
    expect(byId.outputs[2]).toBe(0);
    const active = (await plc.session.read({ nodeId: plc.id(`${CONFIGS}-ActiveConfiguration`), attributeId: AttributeIds.Value })).value.value as Configuration;
    expect(active.internalId.id).toBe(running!.internalId.id);
    expect((await call(CONFIGS, 'GetConfigurationById', [await id('no-such'), int32(0)])).outputs[2]).toBe(-1);
    expect((await call(CONFIGS, 'GetConfigurationById', [await id(''), int32(0)])).status).toBe('BadInvalidArgument');
    expect(await activate(running!.internalId.id)).toEqual({ status: 'Good', outputs: [0] }); // active already

    // A bad edit: listed, refused on activation, the old one runs on.
    writeFileSync(configFile, config('"soon"'));
    const [, two, , [, bad]] = await list();
    expect(two).toBe(2);
    expect((await activate(bad!.internalId.id)).status).toBe('BadConfigurationError');
    await waitFor('the refusal in the log', () => daemon.logs.find((l) => l.event === 'config.reload_refused'), 5000);
    const before = dbRows(join(dir, 'verdicts.db')).length;
    await waitFor('verdicts after the refusal', () => dbRows(join(dir, 'verdicts.db')).length > before, 10_000);
    expect((await list())[3][0]!.internalId.id).toBe(running!.internalId.id);

    // Edited again after the list: the listed hash is no longer a configuration (Error -1).
    writeFileSync(configFile, config(1200));
    expect(await activate(bad!.internalId.id)).toEqual({ status: 'Good', outputs: [-1] });
    const [, , , [, good]] = await list();
    expect(await activate(good!.internalId.id)).toEqual({ status: 'Good', outputs: [0] });
    const [, one, , [now]] = await list();
    expect(one).toBe(1);
    expect(now!.internalId.id).toBe(good!.internalId.id);
    expect(now!.lastModified.getTime()).toBeGreaterThan(running!.lastModified.getTime());
    expect(daemon.logs.find((l) => l.event === 'config.reloaded')).toMatchObject({ changed: ['deadlineMs'] });
    const activeNow = (await plc.session.read({ nodeId: plc.id(`${CONFIGS}-ActiveConfiguration`), attributeId: AttributeIds.Value })).value.value as Configuration;
    expect(activeNow.internalId.id).toBe(now!.internalId.id);
    expect(readFileSync(configFile, 'utf8')).toContain('deadlineMs: 1200');
  }, 60_000);
});
