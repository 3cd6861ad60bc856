import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { cliPath } from '../helpers/model.js';
import { jsonLines, startFakeGigeCamera, TestNetns, waitFor, type ProbeEvent } from './netns.js';

/**
 * A software-triggered GigE Vision camera: TriggerMode=On, TriggerSource=Software, TriggerSoftware
 * executed for each trigger, through the Aravis helper (src/source/aravis-camera.py), against Debian's
 * fake GigE camera (arv-fake-gv-camera-0.8) in a network namespace with only loopback up. First the
 * source alone (test/source/fixtures/capture-probe.mjs), then the whole daemon driven as a PLC drives
 * it over MQTT (its embedded broker, inside the namespace).
 */
const PROBE = 'test/source/fixtures/capture-probe.mjs';
let ns: TestNetns;
let camera: ChildProcess | undefined;
const started: ChildProcess[] = [];

beforeAll(() => {
  ns = TestNetns.create();
});
afterEach(async () => {
  for (const p of started.splice(0)) await ns.kill(p);
  if (camera) await ns.kill(camera);
  camera = undefined;
});
afterAll(() => ns?.remove());

const of = (events: ProbeEvent[], kind: ProbeEvent['event'] | 'trigger') => events.filter((e) => e.event === kind);

describe('software-triggered GigE camera (Aravis helper, fake GigE camera)', () => {
  it('takes one frame per trigger, each captured after its trigger, and none between triggers', async () => {
    camera = await startFakeGigeCamera(ns);
    const cam = { name: 'gt1', trigger: 'mqtt', source: { type: 'gige', cameraName: 'Aravis-Fake-GV01', width: 256, height: 192, fps: 20 } };
    const child = ns.spawn('node', [PROBE, JSON.stringify(cam)], { TRIGGER_MS: '300', TRIGGER_COUNT: '6' });
    started.push(child);
    const events = jsonLines(child);
    await waitFor('6 triggers', () => of(events, 'trigger').length >= 6, 30_000);
    // The camera free-runs at 20 fps when not triggered: 1.5 s without a trigger would be 30 frames.
    await new Promise((r) => setTimeout(r, 1500));
    const triggers = of(events, 'trigger').map((t) => t.at as number);
    const frames = of(events, 'frame');
    expect(frames).toHaveLength(6);
    expect(frames.every((f) => f.width === 256 && f.height === 192 && f.channels === 1)).toBe(true);
    // Frame i was exposed for trigger i: after it, and before the next one was sent (300 ms later).
    frames.forEach((f, i) => {
      expect(f.capturedAt as number).toBeGreaterThanOrEqual(triggers[i]!);
      expect(f.capturedAt as number).toBeLessThan(triggers[i]! + 300);
    });
    // The camera was up (acquiring, waiting for triggers) before the first trigger, and stayed up.
    expect(of(events, 'state').map((s) => s.state)).toEqual(['up']);
  });
});

describe('triggered GigE camera through the daemon (daemon, embedded broker and fake camera in a network namespace)', () => {
  it('gives N triggers N verdicts with their partIds; a killed camera goes down and its triggers TIMEOUT; it comes back', async () => {
    camera = await startFakeGigeCamera(ns);
    const dir = mkdtempSync(join(tmpdir(), 'inspectd-gt-'));
    writeFileSync(
      join(dir, 'c.yaml'),
      'station: gt\ndeadlineMs: 1500\ncameras:\n  - name: gige1\n    trigger: mqtt\n' +
        '    source: { type: gige, cameraName: Aravis-Fake-GV01, width: 320, height: 256, fps: 20, reconnect: { initialMs: 200, maxMs: 1000 } }\n' +
        `storage: { path: ${join(dir, 'v.db')} }\nlog: { level: info, format: json }\n`,
    );
    // The namespace's own loopback: its 1883 is free whatever the host runs.
    const daemon = ns.spawn(process.execPath, [cliPath, 'run', '-c', join(dir, 'c.yaml')]);
    started.push(daemon);
    let out = '';
    daemon.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    daemon.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    // The line as the PLC sees it: verdicts and the camera's retained status.
    const status: Array<{ state: string; reason: string | null }> = [];
    const verdicts: VerdictMessage[] = [];
    await waitFor('the embedded broker', () => /"msg":"camera starting"/.test(out), 60_000);
    const sub = ns.spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', '1883', '-q', '1', '-v', '-t', 'inspectd/gt/verdict', '-t', 'inspectd/gt/camera/gige1/status']);
    started.push(sub);
    createInterface({ input: sub.stdout! }).on('line', (line) => {
      const [topic, ...rest] = line.split(' ');
      const body = JSON.parse(rest.join(' ')) as never;
      if (topic!.endsWith('/verdict')) verdicts.push(body);
      else status.push(body);
    });
    const sentAt = new Map<string, number>();
    const trigger = (partId: string) => {
      sentAt.set(partId, Date.now());
      const pub = spawnSync('ip', ['netns', 'exec', ns.name, 'mosquitto_pub', '-h', '127.0.0.1', '-p', '1883', '-q', '1', '-t', 'inspectd/gt/trigger', '-m', JSON.stringify({ camera: 'gige1', partId })]);
      expect(pub.status).toBe(0);
    };
    await waitFor('camera up', () => status.at(-1)?.state === 'up', 30_000);

    for (let i = 1; i <= 5; i++) {
      trigger(`P${i}`);
      await new Promise((r) => setTimeout(r, 400));
    }
    await waitFor('5 verdicts', () => verdicts.length >= 5, 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    // Exactly one verdict per trigger, judged from a frame taken after the PLC asked: the camera
    // free-runs at 20 fps otherwise, and untriggered frames are no parts.
    expect(verdicts.map((v) => v.partId)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5']);
    // PASS/FAIL: judged within the deadline counted from the trigger's arrival (1.5 s: this box is shared).
    for (const v of verdicts) {
      expect(['PASS', 'FAIL']).toContain(v.verdict);
      expect(v.capturedAt).toBeGreaterThanOrEqual(sentAt.get(v.partId!)!);
      expect(v.capturedAt).toBeLessThan(sentAt.get(v.partId!)! + 1500);
    }

    // The camera dies: down (once), and a trigger meanwhile is TIMEOUT at its deadline, with its partId.
    await ns.kill(camera);
    await waitFor('camera down', () => status.at(-1)?.state === 'down', 30_000);
    trigger('K1');
    await waitFor('K1 answered', () => verdicts.find((v) => v.partId === 'K1'), 10_000);
    expect(verdicts.find((v) => v.partId === 'K1')).toMatchObject({ verdict: 'TIMEOUT', frameId: -1 });

    // Back: up again, and triggered as before.
    camera = await startFakeGigeCamera(ns);
    await waitFor('camera up again', () => status.at(-1)?.state === 'up', 30_000);
    trigger('R1');
    await waitFor('R1 answered', () => verdicts.find((v) => v.partId === 'R1'), 10_000);
    expect(['PASS', 'FAIL']).toContain(verdicts.find((v) => v.partId === 'R1')!.verdict);
    // Once per change (the subscriber may first have seen the retained `down` of a camera still opening).
    expect(status.slice(status.findIndex((s) => s.state === 'up')).map((s) => s.state)).toEqual(['up', 'down', 'up']);
    expect(verdicts.map((v) => v.partId)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5', 'K1', 'R1']);

    const exit = new Promise<number | null>((r) => daemon.once('exit', (c) => r(c)));
    daemon.kill('SIGTERM');
    expect(await exit, out).toBe(0);
  }, 150_000);
});
