import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, VerdictSubscriber } from '../helpers/daemon.js';
import { defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';

/**
 * A triggered line as a PLC drives it: triggers on `inspectd/trig/trigger`, one verdict per trigger
 * carrying its partId, TIMEOUT for a trigger whose camera takes no frame, error replies for bad ones.
 * `belt` is a synthetic camera that draws its part on the trigger; `dead` is a camera that never
 * opens (a device that does not exist), so its triggers can only end as TIMEOUT.
 */
let broker: TestBroker;
let sub: VerdictSubscriber;
let plc: MqttClient;
let daemon: DaemonProcess;
const errors: Array<{ code: string; message: string }> = [];
const sentAt = new Map<string, number>();

beforeAll(async () => {
  broker = await TestBroker.start();
  sub = await VerdictSubscriber.connect(broker.url, 'inspectd/trig/verdict');
  plc = await mqtt.connectAsync(broker.url, { clientId: 'plc' });
  plc.on('message', (_t, p) => errors.push(JSON.parse(p.toString()) as { code: string; message: string }));
  await plc.subscribeAsync('inspectd/trig/trigger/error', { qos: 1 });
  daemon = DaemonProcess.start({
    station: 'trig',
    deadlineMs: 150,
    model: { path: defaultModelJson },
    mqtt: { url: broker.url },
    cameras: [
      { name: 'belt', trigger: 'mqtt', source: { type: 'synthetic', fps: 1, seed: 9 } },
      { name: 'dead', trigger: 'mqtt', source: { type: 'opencv', device: '/dev/inspectd-no-such-camera', api: 'v4l2' } },
      { name: 'free', source: { type: 'synthetic', fps: 2, seed: 10 } },
    ],
  });
  // The daemon is up once the free-running camera's verdicts flow.
  const up = Date.now() + 40_000;
  while (!sub.received.some((r) => r.msg.camera === 'free') && Date.now() < up) await new Promise((r) => setTimeout(r, 100));
  const trigger = async (body: unknown) => {
    await plc.publishAsync('inspectd/trig/trigger', typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });
  };
  for (let i = 1; i <= 8; i++) {
    sentAt.set(`P${i}`, Date.now());
    await trigger({ camera: 'belt', partId: `P${i}`, ts: Date.now() });
    await new Promise((r) => setTimeout(r, 120));
  }
  await trigger({ camera: 'dead', partId: 'D1' });
  await trigger('not json');
  await trigger({ camera: 'nowhere', partId: 'X1' });
  await trigger({ camera: 'belt' });
  // A duplicate: the same part twice while the first is still waiting for its frame.
  await trigger({ camera: 'dead', partId: 'D2' });
  await trigger({ camera: 'dead', partId: 'D2' });
  await new Promise((r) => setTimeout(r, 1500));
  await daemon.stop();
}, 70_000);

afterAll(async () => {
  await plc?.endAsync();
  await sub?.close();
  await broker?.stop();
});

describe('the PLC trigger', () => {
  it('answers every trigger exactly once, with its partId, from a frame taken for it', () => {
    const belt = sub.received.filter((r) => r.msg.camera === 'belt');
    expect(belt.map((r) => r.msg.partId).sort()).toEqual(['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8']);
    for (const r of belt) {
      expect(['PASS', 'FAIL']).toContain(r.msg.verdict);
      // Drawn on the trigger: captured after the PLC asked, not a frame from the 1 fps schedule.
      expect(r.msg.capturedAt).toBeGreaterThanOrEqual(sentAt.get(r.msg.partId!)! - 5);
      expect(r.at - sentAt.get(r.msg.partId!)!).toBeLessThan(150 + 25);
    }
  });

  it('gives a trigger whose camera takes no frame TIMEOUT at its deadline, with its partId', () => {
    const dead = sub.received.filter((r) => r.msg.camera === 'dead');
    expect(dead.map((r) => [r.msg.partId, r.msg.verdict, r.msg.frameId]).sort()).toEqual([
      ['D1', 'TIMEOUT', -1],
      ['D2', 'TIMEOUT', -1],
    ]);
    for (const r of dead) expect(r.msg.decidedAt - r.msg.capturedAt).toBeGreaterThanOrEqual(150);
  });

  it('answers malformed, unknown-camera and duplicate triggers on trigger/error and judges nothing for them', () => {
    expect(errors.map((e) => e.code).sort()).toEqual([
      'INSPECTD_TRIGGER_DUPLICATE',
      'INSPECTD_TRIGGER_INVALID',
      'INSPECTD_TRIGGER_INVALID',
      'INSPECTD_TRIGGER_UNKNOWN_CAMERA',
    ]);
    expect(sub.received.some((r) => r.msg.partId === 'X1')).toBe(false);
    expect(sub.received.filter((r) => r.msg.partId === 'D2')).toHaveLength(1);
  });

  it('leaves free-running cameras as they were: every frame a part', () => {
    const free = sub.received.filter((r) => r.msg.camera === 'free');
    expect(free.length).toBeGreaterThanOrEqual(2);
    expect(free.every((r) => r.msg.partId === null)).toBe(true);
  });
});
