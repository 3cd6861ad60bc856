import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subscriber } from '../helpers/daemon.js';
import { defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { DaemonProcess, sleep, tempDir, waitFor, writeConfig } from './helpers.js';

/**
 * PLC-triggered cameras under live reload, on the real daemon with a real mosquitto: a reload adds
 * a triggered camera (its triggers are answered from then on, one verdict each with its partId) and
 * one that never opens; removing that one by a later reload answers its waiting trigger with
 * TIMEOUT at once (its deadline is 20 s: nothing else would end it inside this test), and a trigger
 * for it afterwards is refused as an unknown camera.
 */
let dir: string;
let broker: TestBroker;
let daemon: DaemonProcess;
let sub: Subscriber;
let plc: MqttClient;
let db: string;

const free = ['  - name: cam1', '    source:', '      type: synthetic', '      fps: 5', '      seed: 1'];
const belt = ['  - name: belt', '    trigger: mqtt', '    source:', '      type: synthetic', '      fps: 1', '      seed: 9'];
const dead = ['  - name: dead', '    trigger: mqtt', '    deadlineMs: 20000', '    source:', '      type: opencv', '      device: /dev/inspectd-no-such-camera', '      api: v4l2'];
const config = (cameras: string[][]) =>
  ['deadlineMs: 1000', 'model:', `  path: ${defaultModelJson}`, 'cameras:', ...cameras.flat(), 'storage:', `  path: ${db}`, 'log:', '  level: info', '  format: json', ''].join('\n');

async function reload(text: string): Promise<{ event?: string; [k: string]: unknown }> {
  const seen = daemon.logs.length;
  writeConfig(dir, text);
  daemon.child.kill('SIGHUP');
  return waitFor('the reload to finish', () => daemon.logs.slice(seen).find((l) => l.event === 'config.reloaded' || l.event === 'config.reload_refused'), 60_000);
}
const trigger = (camera: string, partId: string) => plc.publishAsync('inspectd/station1/trigger', JSON.stringify({ camera, partId }), { qos: 1 });
const verdictsOf = (camera: string) => sub.verdicts().filter((v) => v.camera === camera);
const errors = () => sub.messages.filter((m) => m.topic === 'inspectd/station1/trigger/error').map((m) => JSON.parse(m.payload) as { code: string; trigger: { partId?: string } });

beforeAll(async () => {
  dir = tempDir('reload-trig');
  db = join(dir, 'verdicts.db');
  broker = await TestBroker.start();
  sub = await Subscriber.connect(broker.url, 'inspectd/#');
  plc = await mqtt.connectAsync(broker.url, { clientId: 'plc' });
  daemon = DaemonProcess.start(writeConfig(dir, config([free])), ['--broker', broker.url, '--http', '127.0.0.1:0']);
  await waitFor('ready', () => daemon.event('ready'), 60_000);
}, 90_000);

afterAll(async () => {
  daemon?.kill();
  await plc?.endAsync();
  await sub?.close();
  await broker?.stop();
});

describe('reload of PLC-triggered cameras', () => {
  it('adds triggered cameras live: each trigger of the new camera gets exactly one verdict with its partId', async () => {
    // Before the reload the station has no triggered camera: a trigger for belt is refused.
    await trigger('belt', 'B0');
    await waitFor('B0 refused', () => errors().find((e) => e.trigger.partId === 'B0' && e.code === 'INSPECTD_TRIGGER_UNKNOWN_CAMERA'), 10_000);
    const r = await reload(config([free, belt, dead]));
    expect(r.event).toBe('config.reloaded');
    expect(r.cameras).toEqual({ added: ['belt', 'dead'], removed: [], restarted: [] });
    for (const p of ['B1', 'B2', 'B3']) {
      await trigger('belt', p);
      await sleep(300);
    }
    await waitFor('three belt verdicts', () => verdictsOf('belt').length >= 3, 20_000);
    await sleep(1500);
    expect(verdictsOf('belt').map((v) => v.partId).sort()).toEqual(['B1', 'B2', 'B3']);
    expect(verdictsOf('belt').every((v) => v.verdict !== 'TIMEOUT')).toBe(true);
  }, 90_000);

  it('removing a triggered camera answers its waiting trigger with TIMEOUT at once, and refuses later ones', async () => {
    await trigger('dead', 'D1');
    await sleep(500);
    expect(verdictsOf('dead')).toEqual([]); // waiting: its deadline is 20 s
    const removedAt = Date.now();
    const r = await reload(config([free, belt]));
    expect(r.event, JSON.stringify(r)).toBe('config.reloaded');
    expect(r.cameras).toEqual({ added: [], removed: ['dead'], restarted: [] });
    const d1 = await waitFor('D1 answered', () => verdictsOf('dead').find((v) => v.partId === 'D1'), 10_000);
    expect(d1.verdict).toBe('TIMEOUT');
    expect(d1.frameId).toBe(-1);
    expect(d1.receivedAt - removedAt).toBeLessThan(10_000);
    await trigger('dead', 'D2');
    await waitFor('D2 refused', () => errors().find((e) => e.trigger.partId === 'D2' && e.code === 'INSPECTD_TRIGGER_UNKNOWN_CAMERA'), 10_000);
    await sleep(500);
    expect(verdictsOf('dead').map((v) => v.partId)).toEqual(['D1']);
    // The free-running camera judged on throughout.
    expect(verdictsOf('cam1').length).toBeGreaterThan(10);
  }, 60_000);
});
