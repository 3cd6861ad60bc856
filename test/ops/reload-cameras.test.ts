import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { Subscriber } from '../helpers/daemon.js';
import { cliPath, defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { DaemonProcess, sleep, tempDir, waitFor, writeConfig } from './helpers.js';

/**
 * Reload that changes cameras and the model, on the real daemon (a child process) with a real
 * mosquitto and ONNX Runtime on the real synthetic-line model:
 * - cam2 removed and cam3 added in one reload: cam3's verdicts begin, cam2's stop, and every frame
 *   cam2 had taken still got its verdict;
 * - the model swapped for a second copy (version 9.9.9-reload): loaded and self-tested beside the old
 *   one, swapped at one point in each camera's frame order (each verdict's `model` says which
 *   answered), visible in
 *   the retained birth message;
 * - a corrupt new model refused, the line still judging with the one it had;
 * - new files copied over the model in use (same path, same config) loaded and swapped by a reload.
 */
let dir: string;
let broker: TestBroker;
let daemon: DaemonProcess;
let sub: Subscriber;
let db: string;
let newModel: string;
let badModel: string;

const cam = (name: string, seed: number) => ['  - name: ' + name, '    partId: frame', '    source:', '      type: synthetic', '      fps: 5', '      defectRate: 0.3', `      seed: ${seed}`];
const config = (cameras: string[][], modelJson = defaultModelJson) =>
  [`deadlineMs: 1000`, 'model:', `  path: ${modelJson}`, 'cameras:', ...cameras.flat(), 'storage:', `  path: ${db}`, 'log:', '  level: info', '  format: json', ''].join('\n');

/** SIGHUP as systemctl reload sends it; resolves with the config.reloaded or config.reload_refused line it caused. */
async function reload(text: string): Promise<{ event?: string; [k: string]: unknown }> {
  const seen = daemon.logs.length;
  writeConfig(dir, text);
  daemon.child.kill('SIGHUP');
  return waitFor('the reload to finish', () => daemon.logs.slice(seen).find((l) => l.event === 'config.reloaded' || l.event === 'config.reload_refused'), 60_000);
}
const verdictsOf = (camera: string) => sub.verdicts().filter((v) => v.camera === camera);
const birth = () => JSON.parse(sub.messages.filter((m) => m.topic === 'inspectd/station1/birth').at(-1)!.payload) as { models: Array<{ version: string }>; cameras: Array<{ name: string }> };

beforeAll(async () => {
  dir = tempDir('reload-cams');
  db = join(dir, 'verdicts.db');
  // A second model: the same network under another version, so the swap shows in every verdict.
  newModel = join(dir, 'm2', 'model.json');
  cpSync(dirname(defaultModelJson), dirname(newModel), { recursive: true });
  writeFileSync(newModel, readFileSync(newModel, 'utf8').replace('"version": "1.0.0"', '"version": "9.9.9-reload"'));
  // A model whose weights are not ONNX: its spec is fine, loading it fails.
  badModel = join(dir, 'bad', 'model.json');
  cpSync(dirname(defaultModelJson), dirname(badModel), { recursive: true });
  for (const f of ['model.onnx', 'model.int8.onnx']) writeFileSync(join(dirname(badModel), f), Buffer.alloc(4096, 0x5a));
  broker = await TestBroker.start();
  sub = await Subscriber.connect(broker.url, 'inspectd/#');
  daemon = DaemonProcess.start(writeConfig(dir, config([cam('cam1', 1), cam('cam2', 2)])), ['--broker', broker.url, '--http', '127.0.0.1:0']);
  await waitFor('ready', () => daemon.event('ready'), 60_000);
}, 90_000);

afterAll(async () => {
  daemon?.kill();
  await sub?.close();
  await broker?.stop();
});

describe('reload of cameras and the model', () => {
  it('starts an added camera and stops a removed one, in one reload, the others untouched', async () => {
    await waitFor('verdicts from both cameras', () => verdictsOf('cam1').length >= 3 && verdictsOf('cam2').length >= 3, 30_000);
    const r = await reload(config([cam('cam1', 1), cam('cam3', 3)]));
    expect(r.event).toBe('config.reloaded');
    expect(r.cameras).toEqual({ added: ['cam3'], removed: ['cam2'], restarted: [] });
    const doneAt = Date.now();
    await waitFor('verdicts from the new camera', () => verdictsOf('cam3').length >= 5, 30_000);
    // The removed camera's last frames may still be answered just after the reload (they were
    // taken before it); none may arrive later than one deadline after it.
    await sleep(1500);
    const late = verdictsOf('cam2').filter((v) => v.receivedAt > doneAt + 1000 + 500);
    expect(late).toEqual([]);
    expect(daemon.event('camera.removed')).toMatchObject({ camera: 'cam2' });
    const status = sub.messages.filter((m) => m.topic === 'inspectd/station1/camera/cam2/status').at(-1)!;
    expect(JSON.parse(status.payload)).toMatchObject({ state: 'removed' });
    expect(birth().cameras.map((c) => c.name)).toEqual(['cam1', 'cam3']);
  }, 90_000);

  it('loads a new model beside the old, swaps it between frames, and says so in the retained birth message', async () => {
    const r = await reload(config([cam('cam1', 1), cam('cam3', 3)], newModel));
    expect(r.event).toBe('config.reloaded');
    expect(r.models).toEqual({ loaded: ['synthetic-line@9.9.9-reload'], retired: ['synthetic-line@1.0.0'] });
    expect(daemon.events('model.swapped').map((l) => l.camera).sort()).toEqual(['cam1', 'cam3']);
    await waitFor('the retained birth with the new model', () => birth().models.map((m) => m.version).join() === '9.9.9-reload', 10_000);
    await waitFor('verdicts from the new model', () => sub.verdicts().filter((v) => v.model.version === '9.9.9-reload').length >= 6, 30_000);
  }, 90_000);

  it('refuses a new model that does not load, and the line keeps running on the old one', async () => {
    const r = await reload(config([cam('cam1', 1), cam('cam3', 3)], badModel));
    expect(r.event).toBe('config.reload_refused');
    expect(r.issues).toEqual([expect.objectContaining({ path: 'model', message: expect.stringMatching(/INSPECTD_MODEL_LOAD|INSPECTD_INFER|onnx|protobuf/i) })]);
    const before = sub.verdicts().length;
    await waitFor('more verdicts after the refusal', () => sub.verdicts().length >= before + 6, 30_000);
    expect(sub.verdicts().slice(before).every((v) => v.model.version === '9.9.9-reload')).toBe(true);
    expect(birth().models.map((m) => m.version)).toEqual(['9.9.9-reload']);
  }, 90_000);

  it('notices new model files under the same path: a reload of an unchanged config loads and swaps them', async () => {
    // A retrained model copied over the one in use, the config untouched.
    writeFileSync(newModel, readFileSync(newModel, 'utf8').replace('"version": "9.9.9-reload"', '"version": "9.9.10-in-place"'));
    const r = await reload(config([cam('cam1', 1), cam('cam3', 3)], newModel));
    expect(r.event).toBe('config.reloaded');
    expect(r.models).toEqual({ loaded: ['synthetic-line@9.9.10-in-place'], retired: ['synthetic-line@9.9.9-reload'] });
    await waitFor('verdicts from the model replaced in place', () => sub.verdicts().filter((v) => v.model.version === '9.9.10-in-place').length >= 6, 30_000);
    // The same files again: nothing to load.
    const again = await reload(config([cam('cam1', 1), cam('cam3', 3)], newModel));
    expect(again.models).toEqual({ loaded: [], retired: [] });
  }, 90_000);

  it('lost no verdict and judged no frame twice across the reloads; the swap is one point in the frames of each camera', async () => {
    expect(await daemon.stop()).toBe(0);
    const all = execFileSync(process.execPath, [cliPath, 'verdicts', '--db', db], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as VerdictMessage);
    expect(all.map((v) => v.seq)).toEqual(all.map((_, i) => i + 1));
    for (const camera of ['cam1', 'cam2', 'cam3']) {
      const ids = all.filter((v) => v.camera === camera).map((v) => v.frameId).sort((a, b) => a - b);
      // Every frame a camera took got exactly one verdict, the removed camera's last ones included.
      expect(ids, camera).toEqual(ids.map((_, i) => ids[0]! + i));
      expect(ids.length, camera).toBeGreaterThan(2);
    }
    // The swap is one point in each camera's frame order: every frame taken before it was answered by
    // the old model (those still queued at the swap too, whenever they were answered), every frame
    // after it by the new one, never the old model again.
    for (const camera of ['cam1', 'cam3']) {
      const versions = all.filter((v) => v.camera === camera).sort((a, b) => a.frameId - b.frameId).map((v) => v.model.version);
      const switches = versions.slice(1).filter((v, i) => v !== versions[i]);
      expect(switches, camera).toEqual(['9.9.9-reload', '9.9.10-in-place']);
    }
    expect(all.at(-1)!.model.version).toBe('9.9.10-in-place');
  }, 60_000);
});
