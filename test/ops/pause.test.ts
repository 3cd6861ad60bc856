import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subscriber } from '../helpers/daemon.js';
import { defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { DaemonProcess, sleep, tempDir, waitFor, writeConfig } from './helpers.js';

/**
 * An operator pauses and resumes the line (MQTT `cmd` and HTTP `POST /pause|/resume`, both with the
 * token), on the real daemon with a real mosquitto: while paused no frame is judged, a PLC trigger is
 * refused at once with INSPECTD_TRIGGER_PAUSED (so the PLC rejects the part instead of waiting), the
 * retained `paused` topic and /readyz say so; after resume the free-running camera is judged again
 * and a trigger gets its verdict. Without the token nothing changes.
 */
const TOKEN = '9f8e7d6c5b4a39281706f5e4d3c2b1a0';
let dir: string;
let broker: TestBroker;
let daemon: DaemonProcess;
let sub: Subscriber;
let plc: MqttClient;
let base: string;
const replies: Array<Record<string, unknown>> = [];

const text = (db: string) =>
  [
    'deadlineMs: 1000',
    'model:',
    `  path: ${defaultModelJson}`,
    'cameras:',
    '  - name: cam1',
    '    source: { type: synthetic, fps: 10, seed: 1 }',
    '  - name: belt',
    '    trigger: mqtt',
    '    source: { type: synthetic, fps: 1, seed: 9 }',
    'storage:',
    `  path: ${db}`,
    'http:',
    `  tokenFile: ${join(dir, 'token')}`,
    'log:',
    '  level: info',
    '  format: json',
    '',
  ].join('\n');

const verdictsOf = (camera: string) => sub.verdicts().filter((v) => v.camera === camera);
const retainedPaused = () => sub.messages.filter((m) => m.topic === 'inspectd/station1/paused').map((m) => JSON.parse(m.payload) as { paused: boolean; via?: string });
const triggerErrors = () => sub.messages.filter((m) => m.topic === 'inspectd/station1/trigger/error').map((m) => JSON.parse(m.payload) as { code: string; trigger: { partId?: string } });
const trigger = (partId: string) => plc.publishAsync('inspectd/station1/trigger', JSON.stringify({ camera: 'belt', partId }), { qos: 1 });
const post = (path: string, token?: string) => fetch(`${base}${path}`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
const readyz = async () => {
  const r = await fetch(`${base}/readyz`);
  return { status: r.status, body: (await r.json()) as { checks: { inspection: { ok: boolean; paused: boolean; via?: string } } } };
};

async function command(id: string, name: string, token?: string): Promise<Record<string, unknown>> {
  const seen = replies.length;
  await plc.publishAsync('inspectd/station1/cmd', JSON.stringify({ id, command: name, ...(token ? { token } : {}) }), { qos: 1 });
  return waitFor(`the reply to ${id}`, () => replies.slice(seen).find((r) => r.id === id), 15_000);
}

beforeAll(async () => {
  dir = tempDir('pause');
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  broker = await TestBroker.start();
  sub = await Subscriber.connect(broker.url, 'inspectd/#');
  plc = await mqtt.connectAsync(broker.url, { clientId: 'plc' });
  plc.on('message', (t, p) => {
    if (t.endsWith('/cmd/reply')) replies.push(JSON.parse(p.toString()) as Record<string, unknown>);
  });
  await plc.subscribeAsync('inspectd/station1/cmd/reply', { qos: 1 });
  daemon = DaemonProcess.start(writeConfig(dir, text(join(dir, 'verdicts.db'))), ['--broker', broker.url, '--http', '127.0.0.1:0']);
  base = await daemon.httpBase();
  await waitFor('ready', () => daemon.event('ready'), 60_000);
  await waitFor('verdicts', () => verdictsOf('cam1').length >= 5, 30_000);
}, 90_000);

afterAll(async () => {
  daemon?.kill();
  await plc?.endAsync();
  await sub?.close();
  await broker?.stop();
});

describe('pause and resume by an operator', () => {
  it('refuses to pause without the token, over HTTP and MQTT, and the line runs on', async () => {
    expect((await post('/pause')).status).toBe(401);
    expect((await post('/pause', 'wrong-token')).status).toBe(403);
    expect(await command('p0', 'pause')).toMatchObject({ ok: false, error: { code: 'INSPECTD_AUTH_REQUIRED' } });
    const n = verdictsOf('cam1').length;
    await sleep(1000);
    expect(verdictsOf('cam1').length).toBeGreaterThan(n + 3);
    expect((await readyz()).body.checks.inspection.paused).toBe(false);
  });

  it('pauses with the token: nothing judged, a trigger refused at once, the retained topic and /readyz say so', async () => {
    expect(await command('p1', 'pause', TOKEN)).toMatchObject({ id: 'p1', ok: true, command: 'pause', changed: true, paused: true });
    await waitFor('the retained paused topic', () => retainedPaused().at(-1)?.paused === true, 5000);
    expect(retainedPaused().at(-1)?.via).toBe('mqtt');
    await sleep(600); // frames already in the pipeline at the pause still get their verdicts
    const n = verdictsOf('cam1').length;
    const sentAt = Date.now();
    await trigger('P1');
    const refused = await waitFor('P1 refused', () => triggerErrors().find((e) => e.trigger.partId === 'P1'), 5000);
    expect(refused.code).toBe('INSPECTD_TRIGGER_PAUSED');
    expect(Date.now() - sentAt).toBeLessThan(1000); // at once, not at its deadline
    await sleep(1500);
    expect(verdictsOf('cam1').length).toBe(n);
    expect(verdictsOf('belt').some((v) => v.partId === 'P1')).toBe(false);
    const r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body.checks.inspection).toMatchObject({ ok: false, paused: true, via: 'mqtt' });
    // Pausing again changes nothing.
    expect(await (await post('/pause', TOKEN)).json()).toMatchObject({ ok: true, changed: false, paused: true });
  });

  it('resumes with the token over HTTP: the camera is judged again, a trigger gets its verdict, seq has no gap', async () => {
    const before = verdictsOf('cam1').length;
    const res = await post('/resume', TOKEN);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, command: 'resume', changed: true, paused: false });
    await waitFor('cam1 judged again', () => verdictsOf('cam1').length >= before + 5, 10_000);
    await trigger('P2');
    const p2 = await waitFor('P2 judged', () => verdictsOf('belt').find((v) => v.partId === 'P2'), 10_000);
    expect(p2.verdict).not.toBe('TIMEOUT');
    expect(retainedPaused().at(-1)).toMatchObject({ paused: false, via: 'http' });
    await waitFor('ready again', async () => (await readyz()).status === 200, 10_000);
    const resumed = daemon.logs.find((l) => l.event === 'line.resumed') as { framesNotJudged?: number } | undefined;
    expect(resumed?.framesNotJudged).toBeGreaterThan(5);
    const seqs = sub
      .verdicts()
      .map((v) => v.seq)
      .sort((a, b) => a - b);
    const unique = [...new Set(seqs)];
    expect(unique.at(-1)! - unique[0]! + 1).toBe(unique.length);
  });
});
