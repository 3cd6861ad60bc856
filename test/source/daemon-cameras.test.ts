import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { opencv } from '../../src/preprocess/opencv.js';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { cliPath } from '../helpers/model.js';
import { freePort, TestBroker } from '../helpers/mosquitto.js';
import { startFakeGigeCamera, TestNetns, waitFor } from './netns.js';

/**
 * Cameras through the whole daemon (`inspectd run`, from dist/): the camera status it publishes
 * (retained, once per change), folder replay as a plant re-inspects with it, and a GigE camera with
 * the daemon and its embedded broker inside a network namespace.
 */
const tmp = () => mkdtempSync(join(tmpdir(), 'inspectd-cams-'));
const children: ChildProcess[] = [];
let broker: TestBroker | undefined;
let sub: MqttClient | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await sub?.endAsync();
  sub = undefined;
  await broker?.stop();
  broker = undefined;
});

function runDaemon(args: string[], cwd: string): { child: ChildProcess; out: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [cliPath, 'run', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exit };
}

async function subscribe(url: string): Promise<{ verdicts: VerdictMessage[]; status: Map<string, Array<{ state: string; reason: string | null }>> }> {
  const verdicts: VerdictMessage[] = [];
  const status = new Map<string, Array<{ state: string; reason: string | null }>>();
  sub = await mqtt.connectAsync(url, { clientId: `cams-${process.pid}` });
  sub.on('message', (topic, payload) => {
    if (topic.endsWith('/verdict')) verdicts.push(JSON.parse(payload.toString()) as VerdictMessage);
    const m = /\/camera\/([^/]+)\/status$/.exec(topic);
    if (m) status.set(m[1]!, [...(status.get(m[1]!) ?? []), JSON.parse(payload.toString()) as { state: string; reason: string | null }]);
  });
  await sub.subscribeAsync('inspectd/#', { qos: 1 });
  return { verdicts, status };
}

describe('camera status and replay through the daemon', () => {
  it('replays a folder tree filtered by a glob, names each image in its verdict, says replay finished and exits 0', async () => {
    broker = await TestBroker.start();
    const { verdicts, status } = await subscribe(broker.url);
    const cv = opencv();
    const dir = tmp();
    for (const [sub, name] of [['a', 'part-1.png'], ['a', 'part-2.png'], ['b', 'part-3.png'], ['b', 'skip-4.png'], ['.', 'part-0.jpg']] as const) {
      mkdirSync(join(dir, 'parts', sub), { recursive: true });
      cv.imwrite(join(dir, 'parts', sub, name), new cv.Mat(128, 160, cv.CV_8UC1, 90));
    }
    // Relative paths, resolved against the config's folder; the daemon runs from another folder.
    writeFileSync(
      join(dir, 'replay.yaml'),
      'station: re1\ndeadlineMs: 2000\ncameras:\n  - name: yesterday\n    source: { type: folder, path: parts, recursive: true, pattern: "part-*.png", fps: 10, exitWhenDone: true }\n' +
        'storage: { path: var/v.db }\nlog: { level: info, format: json }\n',
    );
    const d = runDaemon(['-c', join(dir, 'replay.yaml'), '--broker', broker.url], tmp());
    const code = await Promise.race([d.exit, new Promise<string>((r) => setTimeout(() => r('still running'), 40_000))]);
    expect(code, d.out()).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(verdicts.map((v) => v.source)).toEqual(['a/part-1.png', 'a/part-2.png', 'b/part-3.png']);
    expect(d.out()).toMatch(/"frames":3,"msg":"replay finished"/);
    expect(status.get('yesterday')?.at(-1)).toMatchObject({ state: 'down', reason: 'replay finished' });
    // The log keeps the file names too: `inspectd verdicts` prints them.
    const printed = spawnSync(process.execPath, [cliPath, 'verdicts', '--db', join(dir, 'var/v.db')], { encoding: 'utf8' });
    expect(printed.stdout.trim().split('\n').map((l) => (JSON.parse(l) as VerdictMessage).source)).toEqual(['a/part-1.png', 'a/part-2.png', 'b/part-3.png']);
  });

  it('publishes a camera that never opened as down with the reason (never "started"), and stopped at a clean stop', async () => {
    broker = await TestBroker.start();
    const { status } = await subscribe(broker.url);
    const dir = tmp();
    const port = await freePort();
    writeFileSync(
      join(dir, 'c.yaml'),
      `cameras:\n  - name: gate\n    source: { type: rtsp, url: "rtsp://127.0.0.1:${port}/line", reconnect: { initialMs: 100, maxMs: 400 } }\n` +
        'storage: { path: v.db }\nlog: { level: info, format: json }\n',
    );
    const d = runDaemon(['-c', join(dir, 'c.yaml'), '--broker', broker.url], dir);
    await waitFor('down on MQTT', () => status.get('gate')?.length, 30_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect(status.get('gate')).toEqual([expect.objectContaining({ state: 'down', reason: `RTSP server 127.0.0.1:${port} unreachable: connect ECONNREFUSED 127.0.0.1:${port}` })]);
    d.child.kill('SIGTERM');
    expect(await d.exit).toBe(0);
    await waitFor('stopped on MQTT', () => status.get('gate')!.length >= 2);
    expect(status.get('gate')![1]).toMatchObject({ state: 'down', reason: 'stopped' });
    // One "camera down" line for the whole run, with its reason, however many retries; never "camera up".
    expect(d.out().match(/"msg":"camera down"/g)).toHaveLength(1);
    expect(d.out()).toMatch(/"reason":"RTSP server 127\.0\.0\.1:\d+ unreachable[^"]*","msg":"camera down"/);
    expect(d.out()).not.toMatch(/"msg":"camera up"/);
    expect(d.out()).not.toMatch(/camera started/);
  });
});

describe('GigE camera through the daemon (daemon, embedded broker and fake camera in a network namespace)', () => {
  let ns: TestNetns | undefined;
  afterAll(() => ns?.remove());

  it('judges the camera\'s frames, and publishes it down when the camera dies and up when it is back', async () => {
    ns = TestNetns.create();
    let camera = await startFakeGigeCamera(ns);
    const dir = tmp();
    writeFileSync(
      join(dir, 'c.yaml'),
      'station: g1\ndeadlineMs: 2000\ncameras:\n  - name: gige1\n    source: { type: gige, cameraName: Aravis-Fake-GV01, width: 320, height: 256, fps: 5, reconnect: { initialMs: 200, maxMs: 1000 } }\n' +
        `storage: { path: ${join(dir, 'v.db')} }\nlog: { level: debug, format: json }\n`,
    );
    // The namespace's own loopback: its 1883 is free whatever the host runs.
    const daemon = ns.spawn(process.execPath, [cliPath, 'run', '-c', join(dir, 'c.yaml')]);
    let out = '';
    daemon.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    daemon.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const retained = () =>
      spawnSync('ip', ['netns', 'exec', ns!.name, 'mosquitto_sub', '-h', '127.0.0.1', '-p', '1883', '-t', 'inspectd/g1/camera/gige1/status', '-C', '1', '-W', '2'], { encoding: 'utf8' }).stdout.trim();
    const rows = () => {
      try {
        const db = new Database(join(dir, 'v.db'), { readonly: true, fileMustExist: true });
        try {
          return db.prepare("SELECT COUNT(*) AS n FROM verdicts WHERE camera = 'gige1' AND verdict IN ('PASS','FAIL')").get() as { n: number };
        } finally {
          db.close();
        }
      } catch {
        return { n: 0 };
      }
    };
    // A wait that runs out says what the daemon said about the camera meanwhile (its retries and their reasons are debug lines).
    const said = () => out.split('\n').filter((l) => /camera|GigE/.test(l)).slice(-15).join('\n');
    const until = (what: string, check: () => boolean, ms: number) => waitFor(what, check, ms).catch((err: Error) => Promise.reject(new Error(`${err.message}; the daemon said:\n${said()}`)));
    const exit = new Promise<number | null>((r) => daemon.once('exit', (c) => r(c)));
    try {
      await until('verdicts from the GigE camera', () => rows().n >= 5, 60_000);
      expect(JSON.parse(retained())).toMatchObject({ camera: 'gige1', state: 'up', reason: null });
      await ns.kill(camera);
      await until('down', () => /"down"/.test(retained()), 30_000);
      camera = await startFakeGigeCamera(ns);
      await until('up again', () => /"up"/.test(retained()), 60_000);
    } finally {
      daemon.kill('SIGTERM');
    }
    expect(await exit, out).toBe(0);
    expect(out.match(/"msg":"camera up"/g)).toHaveLength(2);
  }, 180_000);
});
