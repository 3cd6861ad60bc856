import { join } from 'node:path';
import { AttributeIds, DataType } from 'node-opcua';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { openOpcuaServer } from '../../src/outputs/opcua/open.js';
import type { OpcuaOutput } from '../../src/outputs/opcua/output.js';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { sleep, tempDir } from '../helpers/daemon.js';
import { freePort, PlcSession } from '../helpers/opcua.js';

/**
 * The server sets a value only when it changes (address-space.ts: what a verdict costs its thread).
 * What a client must still see: every field of LastResult equal to the last verdict after verdicts
 * that change some fields and not others (a FAIL with defects, a PASS without, an ERROR, a PASS
 * again), the handshake's ResultReady raised again after an acknowledgement, and, for a field that
 * did not change, the source timestamp of its last change (OPC UA Part 4's SourceTimestamp). The
 * output runs in this process, its server on its own thread, a client on loopback.
 */
const dir = tempDir('opcua-values');
const MODEL = { name: 'synthetic-line', version: '1', precision: 'fp32', backend: 'onnxruntime' } as const;
let output: OpcuaOutput;
let plc: PlcSession;

beforeAll(async () => {
  const port = await freePort();
  const config = parseConfig({ station: 'val', storage: { path: join(dir, 'v.db') }, opcua: { enabled: true, port } }, 'test');
  output = openOpcuaServer({ config, inspections: { cameras: new Map([['cam1', { modelInfo: MODEL }]]) }, desk: () => undefined, log: pino({ level: 'silent' }) }, 'test', 'ok');
  await output.listening;
  output.start();
  plc = await PlcSession.open({ endpointUrl: `opc.tcp://127.0.0.1:${port}`, pkiDir: join(dir, 'plc-pki') });
}, 120_000);

afterAll(async () => {
  await plc?.close();
  await output?.stop();
});

const T0 = Date.parse('2026-12-02T08:00:00Z');
const verdict = (seq: number, over: Partial<VerdictMessage>): VerdictMessage => ({
  schema: 1,
  seq,
  station: 'val',
  camera: 'cam1',
  frameId: seq * 10,
  partId: `P-${seq}`,
  verdict: 'PASS',
  score: 0.1,
  defects: [],
  capturedAt: T0 + seq * 1000 - 9,
  decidedAt: T0 + seq * 1000,
  latencyMs: 9,
  deadlineMs: 30,
  model: MODEL,
  ...over,
});

const R = 'val.Cameras.cam1.LastResult';
const FIELDS = ['Seq', 'Verdict', 'Score', 'PartId', 'FrameId', 'Defects', 'DefectCount', 'CapturedAt', 'DecidedAt', 'LatencyMs', 'DeadlineMs', 'ErrorCode', 'ModelName', 'ModelVersion', 'ResultJson'];
const expected = (m: VerdictMessage) => [
  m.seq,
  m.verdict,
  m.score ?? -1,
  m.partId ?? '',
  m.frameId,
  JSON.stringify(m.defects),
  m.defects.length,
  new Date(m.capturedAt),
  new Date(m.decidedAt),
  m.latencyMs,
  m.deadlineMs,
  m.error?.code ?? '',
  m.model.name,
  m.model.version,
  JSON.stringify(m),
];

/** Until an OPC UA read says so (the server applies what is posted on its own thread). */
async function eventually(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Posts a verdict and waits until the server shows it (Seq is set last). */
async function decide(m: VerdictMessage): Promise<void> {
  output.decided(m);
  await eventually(`seq ${m.seq} shown`, async () => (await plc.read(`${R}.Seq`)) === m.seq, 10_000);
}

const sourceTime = async (path: string) => (await plc.session.read({ nodeId: plc.id(path), attributeId: AttributeIds.Value })).sourceTimestamp?.getTime();

describe('OPC UA values set only when they change', () => {
  it('shows every field of the last verdict, whichever fields changed', async () => {
    const sequence = [
      verdict(1, { verdict: 'FAIL', score: 0.93, defects: [{ label: 'scratch', score: 0.93, box: [1, 2, 3, 4] }] }),
      verdict(2, {}),
      verdict(3, { verdict: 'ERROR', score: null, frameId: -1, partId: null, error: { code: 'INSPECTD_INFERENCE', message: 'boom' }, latencyMs: 30 }),
      verdict(4, { latencyMs: 9 }),
      // The same values as seq 4 but Seq, the times and the part: the rest stays as it was.
      verdict(5, { frameId: 40, latencyMs: 9 }),
    ];
    for (const m of sequence) {
      await decide(m);
      expect(await plc.readMany(FIELDS.map((f) => `${R}.${f}`)), `after seq ${m.seq}`).toEqual(expected(m));
    }
    expect(await plc.readMany(['val.Cameras.cam1.ResultCounts.Pass', 'val.Cameras.cam1.ResultCounts.Fail', 'val.Cameras.cam1.ResultCounts.Error', 'val.ResultCounts.Total'])).toEqual([3, 1, 1, 5]);
  }, 60_000);

  it('keeps the source timestamp of the last change on a field that did not change', async () => {
    // Seq 5 left FrameId (40, as seq 4), Verdict, ModelName and DeadlineMs as they were.
    expect(await sourceTime(`${R}.Seq`)).toBe(T0 + 5000);
    expect(await sourceTime(`${R}.PartId`)).toBe(T0 + 5000);
    expect(await sourceTime(`${R}.FrameId`)).toBe(T0 + 4000);
    expect(await sourceTime(`${R}.Verdict`)).toBe(T0 + 4000);
    expect(await sourceTime(`${R}.LatencyMs`)).toBe(T0 + 4000);
  }, 30_000);

  it('raises ResultReady again after an acknowledgement, by the method and by a write', async () => {
    expect(await plc.read('val.Cameras.cam1.ResultReady')).toBe(true);
    expect((await plc.call('val.Cameras.cam1', 'AcknowledgeResult', [{ dataType: DataType.UInt32, value: 0 }])).outputs).toEqual([true]);
    expect(await plc.readMany(['val.Cameras.cam1.ResultReady', 'val.Cameras.cam1.ResultAcknowledged'])).toEqual([false, true]);
    await decide(verdict(6, {}));
    expect(await plc.readMany(['val.Cameras.cam1.ResultReady', 'val.Cameras.cam1.ResultAcknowledged', 'val.Cameras.cam1.ResultSeq'])).toEqual([true, false, 6]);
    expect(await plc.write('val.Cameras.cam1.ResultAcknowledged', true)).toBe('Good');
    await eventually('acknowledged by the write', async () => (await plc.read('val.Cameras.cam1.ResultReady')) === false, 5000);
    await decide(verdict(7, {}));
    expect(await plc.readMany(['val.Cameras.cam1.ResultReady', 'val.Cameras.cam1.ResultAcknowledged', 'val.Cameras.cam1.ResultSeq'])).toEqual([true, false, 7]);
  }, 30_000);
});
