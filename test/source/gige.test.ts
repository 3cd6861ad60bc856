import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, startFakeGigeCamera, TestNetns, waitFor, type ProbeEvent } from './netns.js';

/**
 * GigE Vision against a real GigE Vision peer: Debian's arv-fake-gv-camera-0.8 (aravis-tools), which
 * speaks GVCP/GVSP, read through the Aravis helper (src/source/aravis-camera.py) in its camera process,
 * free-running (software triggering: gige-trigger.test.ts). Discovery broadcasts, so the camera
 * and the source under test (test/source/fixtures/capture-probe.mjs, on dist/) run in a network
 * namespace with only loopback up.
 */
const PROBE = 'test/source/fixtures/capture-probe.mjs';
let ns: TestNetns;
let camera: ChildProcess | undefined;
const probes: ChildProcess[] = [];

beforeAll(() => {
  ns = TestNetns.create();
});
afterEach(async () => {
  for (const p of probes.splice(0)) await ns.kill(p);
  if (camera) await ns.kill(camera);
  camera = undefined;
});
afterAll(() => ns?.remove());

function probe(source: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): ProbeEvent[] {
  const child = ns.spawn('node', [PROBE, JSON.stringify({ name: 'gige1', source: { type: 'gige', cameraName: 'Aravis-Fake-GV01', ...source } })], env);
  probes.push(child);
  return jsonLines(child);
}
const frames = (events: ProbeEvent[]) => events.filter((e) => e.event === 'frame');
const states = (events: ProbeEvent[]) => events.filter((e) => e.event === 'state').map((e) => `${e.state as string}${e.reason ? `: ${e.reason as string}` : ''}`);

describe('GigE Vision camera, free-running (Aravis helper, fake GigE camera in a network namespace)', () => {
  it('streams mono8 at the size and rate asked for, reporting up before the first frame', async () => {
    camera = await startFakeGigeCamera(ns);
    const events = probe({ pixelFormat: 'mono8', width: 320, height: 240, fps: 20 });
    const got = await waitFor('25 frames', () => frames(events).length >= 25 && frames(events));
    expect(got.every((f) => f.width === 320 && f.height === 240 && f.channels === 1)).toBe(true);
    expect(got.map((f) => f.frameId)).toEqual([...Array(got.length).keys()]);
    expect(events.findIndex((e) => e.event === 'state' && e.state === 'up')).toBeLessThan(events.findIndex((e) => e.event === 'frame'));
    // 20 fps: 24 intervals take 1.2 s (a loose band: the box is shared).
    const spanMs = (got[24]!.capturedAt as number) - (got[0]!.capturedAt as number);
    expect(spanMs).toBeGreaterThan(1000);
    expect(spanMs).toBeLessThan(1600);
  });

  it('gives BGR frames for RGB8 and BayerRG8 (demosaiced), which the fake camera offers', async () => {
    camera = await startFakeGigeCamera(ns);
    for (const pixelFormat of ['rgb8', 'bayerrg8']) {
      const events = probe({ pixelFormat, width: 256, height: 128, fps: 20 });
      const got = await waitFor(`${pixelFormat} frames`, () => frames(events).length >= 3 && frames(events));
      expect(got.every((f) => f.width === 256 && f.height === 128 && f.channels === 3)).toBe(true);
      await ns.kill(probes.pop()!, 'SIGTERM');
    }
  });

  it('sets the exposure time: the fake sensor is dark at 1 ms and bright at 100 ms', async () => {
    camera = await startFakeGigeCamera(ns);
    const mean = async (exposureUs: number) => {
      const events = probe({ exposureUs, width: 128, height: 128, fps: 20 });
      const f = await waitFor('a frame', () => frames(events)[0]);
      await ns.kill(probes.pop()!, 'SIGTERM');
      return f.mean as number;
    };
    const dark = await mean(1000);
    const bright = await mean(100_000);
    expect(bright - dark).toBeGreaterThan(100);
  });

  it('judges the newest frame when the consumer is slow: older frames are dropped, capturedAt is when the frame arrived', async () => {
    camera = await startFakeGigeCamera(ns);
    // 20 fps camera, a main thread busy 310 ms per frame: six frames arrive per frame consumed. Not a
    // whole number of frame periods, so the moment each read comes drifts across the 50 ms period
    // (300 ms locked it to one phase, and with it the age of every buffered frame).
    const events = probe({ pixelFormat: 'mono8', width: 128, height: 128, fps: 20 }, { BUSY_MS: '310' });
    const got = await waitFor('8 frames', () => frames(events).length >= 8 && frames(events));
    // The fake camera's pixel (0,0) counts its frames (mod 255): consecutive frames judged are ~6 apart.
    const steps = got.slice(1).map((f, i) => ((f.px as number) - (got[i]!.px as number) + 255) % 255);
    expect(Math.min(...steps.slice(1))).toBeGreaterThanOrEqual(4);
    // Each frame judged left the camera at most about one frame period before it was handed over.
    const ages = got.slice(1).map((f) => (f.deliveredAt as number) - (f.capturedAt as number));
    expect(Math.max(...ages)).toBeLessThan(150);
    // ...and not when it was read: a frame that waited in the one-frame buffer (uniformly 0-50 ms
    // here, stepping 10 ms per frame) is dated by its GStreamer timestamp, so most show an age above a few ms.
    expect(ages.filter((a) => a >= 5).length).toBeGreaterThanOrEqual(3);
  });

  it('reports down when the camera is killed and up when it returns, frameIds carrying on', async () => {
    camera = await startFakeGigeCamera(ns);
    const events = probe({ width: 128, height: 128, fps: 20, reconnect: { initialMs: 200, maxMs: 1000 } });
    await waitFor('frames', () => frames(events).length >= 5);
    await ns.kill(camera);
    await waitFor('down', () => states(events).length >= 2);
    const before = frames(events).length;
    camera = await startFakeGigeCamera(ns);
    await waitFor('frames after return', () => frames(events).length >= before + 5, 30_000);
    const s = states(events);
    expect(s[0]).toBe('up');
    expect(s[1]).toMatch(/^down: /);
    expect(s[2]).toBe('up');
    // One state change per change, however many retries there were.
    expect(s).toHaveLength(3);
    const ids = frames(events).map((f) => f.frameId);
    expect(ids).toEqual([...Array(ids.length).keys()]);
  });

  it('reports a camera that is not there as down with the reason, never up, and keeps retrying', async () => {
    const events = probe({ cameraName: 'Aravis-Fake-NOPE', reconnect: { initialMs: 100, maxMs: 300 } });
    await waitFor('down', () => states(events).length >= 1);
    await new Promise((r) => setTimeout(r, 2500));
    expect(states(events)).toEqual(["down: GigE camera Aravis-Fake-NOPE not found (Device 'Aravis-Fake-NOPE' not found)"]);
    expect(frames(events)).toHaveLength(0);
  });
});
