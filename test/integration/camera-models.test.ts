import mqtt from 'mqtt';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, VerdictSubscriber } from '../helpers/daemon.js';
import { defaultModelJson, repoRoot } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';

/**
 * Three cameras, two models: cam1 and cam3 use the top-level model (synthetic-line), cam2 names its
 * own (magnetic-tile). Each model is loaded once and shared by the cameras that use it.
 */
const magneticTile = resolve(repoRoot, 'models/magnetic-tile/model.json');

let broker: TestBroker;
let sub: VerdictSubscriber;
let daemon: DaemonProcess;
let birth: Record<string, unknown> | undefined;
let exitCode: number | null;

beforeAll(async () => {
  broker = await TestBroker.start();
  sub = await VerdictSubscriber.connect(broker.url, 'inspectd/models/verdict');
  daemon = DaemonProcess.start({
    station: 'models',
    deadlineMs: 500,
    model: { path: defaultModelJson, precision: 'int8' },
    mqtt: { url: broker.url },
    cameras: [
      { name: 'cam1', source: { type: 'synthetic', fps: 5, seed: 1 } },
      { name: 'cam2', model: { path: magneticTile, precision: 'fp32' }, source: { type: 'synthetic', fps: 5, seed: 2 } },
      { name: 'cam3', source: { type: 'synthetic', fps: 5, seed: 3 } },
    ],
  });
  try {
    await sub.waitFor(30, 45_000);
  } finally {
    exitCode = await daemon.stop();
  }
  // The retained birth message, as a dashboard connecting later sees it.
  const late = await mqtt.connectAsync(broker.url);
  birth = await new Promise((res) => {
    late.on('message', (_t, p) => res(JSON.parse(p.toString()) as Record<string, unknown>));
    void late.subscribeAsync('inspectd/models/birth');
    setTimeout(() => res(undefined), 3000);
  });
  await late.endAsync();
}, 60_000);

afterAll(async () => {
  await sub?.close();
  await broker?.stop();
});

describe('per-camera models', () => {
  it('judges each camera with its own model, named in every verdict', () => {
    expect(exitCode, daemon.stderr).toBe(0);
    const models = new Map<string, Set<string>>();
    for (const { msg } of sub.received) {
      if (!models.has(msg.camera)) models.set(msg.camera, new Set());
      models.get(msg.camera)!.add(`${msg.model.name}/${msg.model.precision}`);
    }
    expect([...models.keys()].sort()).toEqual(['cam1', 'cam2', 'cam3']);
    expect([...models.get('cam1')!]).toEqual(['synthetic-line/int8']);
    expect([...models.get('cam2')!]).toEqual(['magnetic-tile/fp32']);
    expect([...models.get('cam3')!]).toEqual(['synthetic-line/int8']);
    expect(sub.received.every((r) => r.msg.verdict !== 'ERROR')).toBe(true);
  });

  it('loads each model once, however many cameras use it', () => {
    const loads = daemon.stdout.split('\n').filter((l) => l.includes('"msg":"model loaded"'));
    expect(loads.map((l) => (JSON.parse(l) as { model: { name: string } }).model.name).sort()).toEqual(['magnetic-tile', 'synthetic-line']);
  });

  it('announces both models and each camera`s model in the retained birth message', () => {
    expect(birth).toBeDefined();
    expect((birth!.models as Array<{ name: string }>).map((m) => m.name).sort()).toEqual(['magnetic-tile', 'synthetic-line']);
    expect(birth!.cameras).toEqual([
      { name: 'cam1', model: 'synthetic-line', deadlineMs: 500 },
      { name: 'cam2', model: 'magnetic-tile', deadlineMs: 500 },
      { name: 'cam3', model: 'synthetic-line', deadlineMs: 500 },
    ]);
  });
});
