import { join } from 'node:path';
import { AttributeIds, BrowseDirection, type DataValue } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { freePort, type PlcSession } from '../helpers/opcua.js';
import { startOpcuaStation, stopOpcuaStation } from '../helpers/opcua-station.js';
import { sleep, tempDir, waitFor, writeConfig, type DaemonProcess } from '../ops/helpers.js';

/**
 * A live reload that adds and removes a camera, as a PLC on OPC UA sees it: `inspectd run` as a
 * child process (a real mosquitto, the synthetic camera, ONNX Runtime on the real model), node-opcua's
 * client over loopback. The added camera's nodes appear without a restart, the removed one's go, and
 * a subscription on a camera the reload left alone keeps getting every result.
 */
let dir: string;
let broker: TestBroker;
let daemon: DaemonProcess;
let plc: PlcSession;
let port: number;
const home = tempDir('opcua-reload-home');

const cam = (name: string, seed: number) => ['  - name: ' + name, '    partId: frame', '    source:', '      type: synthetic', '      fps: 5', `      seed: ${seed}`];
const config = (cameras: string[][]) =>
  [
    'station: ua',
    'deadlineMs: 1000',
    'model:',
    `  path: ${defaultModelJson}`,
    'cameras:',
    ...cameras.flat(),
    'opcua:',
    '  enabled: true',
    `  port: ${port}`,
    'storage:',
    `  path: ${join(dir, 'verdicts.db')}`,
    'log:',
    '  level: info',
    '  format: json',
    '',
  ].join('\n');

/** SIGHUP as systemctl reload sends it; resolves with the config.reloaded or config.reload_refused line. */
async function reload(text: string): Promise<{ event?: string; [k: string]: unknown }> {
  const seen = daemon.logs.length;
  writeConfig(dir, text);
  daemon.child.kill('SIGHUP');
  return waitFor('the reload to finish', () => daemon.logs.slice(seen).find((l) => l.event === 'config.reloaded' || l.event === 'config.reload_refused'), 60_000);
}

async function cameraNames(): Promise<string[]> {
  const r = await plc.session.browse({ nodeId: plc.id('ua.Cameras'), referenceTypeId: 'HasComponent', browseDirection: BrowseDirection.Forward, resultMask: 63 });
  return (r.references ?? []).map((ref) => ref.browseName.name ?? '').sort();
}

beforeAll(async () => {
  dir = tempDir('opcua-reload');
  port = await freePort();
  broker = await TestBroker.start();
  ({ daemon, plc } = await startOpcuaStation(writeConfig(dir, config([cam('cam1', 1), cam('cam2', 2)])), { dir, brokerUrl: broker.url, port, home }));
}, 200_000);

afterAll(async () => {
  await stopOpcuaStation({ daemon, plc });
  await broker?.stop();
});

describe('cameras changed by a live reload, on OPC UA', () => {
  it('adds the new camera to the address space and removes the old one, the other camera subscribed throughout', async () => {
    expect(await cameraNames()).toEqual(['cam1', 'cam2']);
    const cam1: number[] = [];
    const sub = await plc.monitor('ua.Cameras.cam1.LastResult.Seq', (dv: DataValue) => cam1.push(dv.value.value as number));
    await waitFor('cam1 results', () => cam1.length >= 3, 30_000);

    const r = await reload(config([cam('cam1', 1), cam('cam3', 3)]));
    expect(r.event).toBe('config.reloaded');
    expect(r.cameras).toEqual({ added: ['cam3'], removed: ['cam2'], restarted: [] });
    await waitFor('the address space changed', async () => (await cameraNames()).join() === 'cam1,cam3', 20_000);

    // The new camera's nodes are live: its state, its model and its results.
    await waitFor('cam3 up', async () => (await plc.read('ua.Cameras.cam3.CameraState')) === 'up', 30_000);
    expect(await plc.read('ua.Cameras.cam3.Model.Name')).toBe('synthetic-line');
    await waitFor('a cam3 result', async () => ((await plc.read('ua.Cameras.cam3.LastResult.Seq')) as number) > 0, 30_000);
    const json = JSON.parse((await plc.read('ua.Cameras.cam3.LastResult.ResultJson')) as string) as { camera: string };
    expect(json.camera).toBe('cam3');
    // The removed camera's nodes are gone.
    const gone = await plc.session.read({ nodeId: plc.id('ua.Cameras.cam2.LastResult.Seq'), attributeId: AttributeIds.Value });
    expect(gone.statusCode.name).toBe('BadNodeIdUnknown');

    // cam1's subscription, made before the reload, still gets every result after it, in order, none skipped.
    const atReload = cam1.length;
    await sleep(3000);
    await sub.terminate();
    const after = cam1.slice(atReload);
    expect(after.length, `cam1 results after the reload: ${after.length}`).toBeGreaterThanOrEqual(5);
    const verdicts = daemon.logs.filter((l) => l.event === 'opcua.camera_added' || l.event === 'opcua.camera_removed').map((l) => `${l.event}:${String(l.camera)}`);
    expect(verdicts).toEqual(['opcua.camera_removed:cam2', 'opcua.camera_added:cam3']);
    expect(cam1.every((s, i) => i === 0 || s > cam1[i - 1]!)).toBe(true);
  }, 150_000);
});
