import type { ChildProcess } from 'node:child_process';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { createSource } from '../../src/source/create.js';
import type { Frame, FrameSource } from '../../src/source/frame.js';
import { redactUrl, rtspPipeline } from '../../src/source/rtsp.js';
import { freePort } from '../helpers/mosquitto.js';
import { waitFor } from './netns.js';
import { killProcess, startRtspServer } from './rtsp-server.js';

/** RTSP against a real RTSP server (GStreamer's, test/source/fixtures/rtsp-server.py) on 127.0.0.1. */
const servers: ChildProcess[] = [];
const sources: FrameSource[] = [];

async function startServer(port: number, codec = 'jpeg'): Promise<ChildProcess> {
  const child = await startRtspServer(port, codec);
  servers.push(child);
  return child;
}
const kill = killProcess;
afterEach(async () => {
  for (const s of sources.splice(0)) await s.stop();
  for (const c of servers.splice(0)) await kill(c);
});

function rtspCamera(url: string, extra: Record<string, unknown> = {}) {
  const cfg = parseConfig({ cameras: [{ name: 'ipcam', source: { type: 'rtsp', url, reconnect: { initialMs: 100, maxMs: 500 }, ...extra } }] }, 'test');
  const source = createSource(cfg.cameras[0]!, pino({ level: 'silent' }));
  sources.push(source);
  const frames: Frame[] = [];
  const states: string[] = [];
  const started = source.start(
    (f) => frames.push(f),
    () => {},
    { state: (s) => states.push(s.reason ? `${s.state}: ${s.reason}` : s.state) },
  );
  return { frames, states, started };
}

describe('RTSP camera (rtspsrc through OpenCV, real RTSP server)', () => {
  it('streams BGR frames from the server, and mono when asked', async () => {
    const port = await freePort();
    await startServer(port);
    const bgr = rtspCamera(`rtsp://127.0.0.1:${port}/line`);
    await waitFor('frames', () => bgr.frames.length >= 10);
    expect(bgr.frames.every((f) => f.image.cols === 320 && f.image.rows === 240 && f.image.channels === 3)).toBe(true);
    expect(bgr.states[0]).toBe('up');
    const mono = rtspCamera(`rtsp://127.0.0.1:${port}/line`, { channels: 1, transport: 'udp' });
    await waitFor('mono frames', () => mono.frames.length >= 5);
    expect(mono.frames[0]!.image.channels).toBe(1);
  });

  it('decodes H.264, what plant IP cameras send', async () => {
    const port = await freePort();
    await startServer(port, 'h264');
    const cam = rtspCamera(`rtsp://127.0.0.1:${port}/line`);
    await waitFor('frames', () => cam.frames.length >= 10);
    expect([cam.frames[0]!.image.cols, cam.frames[0]!.image.rows, cam.frames[0]!.image.channels]).toEqual([320, 240, 3]);
  });

  it('reports down when the server stops and up when it is back, frameIds carrying on', async () => {
    const port = await freePort();
    const server = await startServer(port);
    const cam = rtspCamera(`rtsp://127.0.0.1:${port}/line`);
    await waitFor('frames', () => cam.frames.length >= 5);
    await kill(server);
    await waitFor('down', () => cam.states.length >= 2);
    const before = cam.frames.length;
    await new Promise((r) => setTimeout(r, 1500));
    await startServer(port);
    await waitFor('frames after return', () => cam.frames.length >= before + 5, 20_000);
    expect(cam.states).toHaveLength(3);
    expect(cam.states[1]).toMatch(/^down: /);
    expect(cam.states[2]).toBe('up');
    expect(cam.frames.map((f) => f.frameId)).toEqual([...Array(cam.frames.length).keys()]);
  });

  it('reports a server that was never there as down (unreachable), not up, without blocking start', async () => {
    const port = await freePort();
    opencv(); // loaded once per process (about 1 s), as the daemon has by the time cameras start
    const t0 = Date.now();
    const cam = rtspCamera(`rtsp://viewer:secret@127.0.0.1:${port}/line`);
    await cam.started;
    expect(Date.now() - t0).toBeLessThan(200);
    await waitFor('down', () => cam.states.length >= 1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(cam.states).toEqual([`down: RTSP server 127.0.0.1:${port} unreachable: connect ECONNREFUSED 127.0.0.1:${port}`]);
    expect(cam.frames).toHaveLength(0);
  });

  it('keeps the password out of logs and status, and the pipeline keeps one frame', () => {
    expect(redactUrl('rtsp://viewer:secret@10.0.0.5:554/stream1')).toBe('rtsp://viewer:***@10.0.0.5:554/stream1');
    const p = rtspPipeline({ type: 'rtsp', url: 'rtsp://10.0.0.5/s', transport: 'tcp', channels: 3, reconnect: { initialMs: 500, maxMs: 10_000 } });
    expect(p).toContain('latency=0');
    expect(p).toMatch(/appsink drop=true max-buffers=1/);
  });
});
