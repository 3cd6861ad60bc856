import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPart } from '../../src/source/synthetic/render.js';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { cliPath, defaultModelJson } from '../helpers/model.js';

/**
 * The daemon as a user runs it: a child process on the synthetic line, a real mosquitto on a free
 * loopback port, a real subscriber, a real SQLite file, stopped with SIGTERM mid-stream.
 */
const SEED = 5;
const DEFECT_RATE = 0.3;
const CORRUPT_EVERY = 13;
/** Frames to see on MQTT before the daemon is stopped (4 s of line at 25 fps). */
const FRAMES = 100;

let broker: TestBroker;
let sub: MqttClient;
let daemon: ChildProcess;
const verdicts: VerdictMessage[] = [];
const statuses: string[] = [];
let dbPath: string;
let exitCode: number | null = null;
let stderr = '';

beforeAll(async () => {
  broker = await TestBroker.start();
  const dir = mkdtempSync(join(tmpdir(), 'inspectd-it-'));
  dbPath = join(dir, 'var', 'verdicts.db');
  const cfg = join(dir, 'inspectd.yaml');
  writeFileSync(
    cfg,
    [
      'station: it1',
      'deadlineMs: 250',
      'model:',
      `  path: ${defaultModelJson}`,
      'cameras:',
      '  - name: cam1',
      '    partId: frame',
      '    source:',
      '      type: synthetic',
      '      fps: 25',
      `      seed: ${SEED}`,
      `      defectRate: ${DEFECT_RATE}`,
      `      corruptEvery: ${CORRUPT_EVERY}`,
      'log:',
      '  level: info',
      '  format: json',
      '',
    ].join('\n'),
  );
  sub = await mqtt.connectAsync(broker.url, { clientId: 'it-subscriber' });
  sub.on('message', (topic, payload) => {
    if (topic === 'inspectd/it1/verdict') verdicts.push(JSON.parse(payload.toString()) as VerdictMessage);
    if (topic === 'inspectd/it1/status') statuses.push(payload.toString());
  });
  await sub.subscribeAsync('inspectd/#', { qos: 1 });

  daemon = spawn(process.execPath, [cliPath, 'run', '-c', cfg, '--broker', broker.url, '--db', dbPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  daemon.stdout!.resume();
  // Let it run, then stop it mid-stream as systemd would.
  const until = Date.now() + 45_000;
  while (verdicts.length < FRAMES && Date.now() < until && daemon.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  daemon.kill('SIGTERM');
  exitCode = await new Promise<number | null>((r) => daemon.once('exit', (code) => r(code)));
  // QoS 1 deliveries still on the wire reach the subscriber shortly after.
  await new Promise((r) => setTimeout(r, 300));
}, 90_000);

afterAll(async () => {
  if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
  await sub?.endAsync();
  await broker?.stop();
});

describe('the daemon on its synthetic line', () => {
  it('exits 0 on SIGTERM', () => {
    expect(stderr).toBe('');
    expect(exitCode).toBe(0);
  });

  it('keeps up with the line: the stream reached its frame count and the verdicts came at the camera rate', () => {
    expect(verdicts.length).toBeGreaterThanOrEqual(FRAMES);
    const span = verdicts.at(-1)!.capturedAt - verdicts[0]!.capturedAt;
    const fps = ((verdicts.length - 1) * 1000) / span;
    expect(fps).toBeGreaterThan(20);
    expect(fps).toBeLessThan(30);
  });

  it('gives every frame exactly one verdict on MQTT, with no gaps in frameId or seq', () => {
    const frameIds = verdicts.map((v) => v.frameId).sort((a, b) => a - b);
    expect(frameIds).toEqual([...Array(frameIds.length).keys()]);
    const seqs = verdicts.map((v) => v.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it('writes one row per frame in SQLite, identical to what was published, all acknowledged', () => {
    const db = new Database(dbPath, { readonly: true });
    const rows = db.prepare('SELECT seq, frame_id, verdict, score, published_at FROM verdicts ORDER BY seq').all() as Array<{
      seq: number;
      frame_id: number;
      verdict: string;
      score: number | null;
      published_at: number | null;
    }>;
    db.close();
    expect(rows.length).toBe(verdicts.length);
    const bySeq = new Map(verdicts.map((v) => [v.seq, v]));
    for (const r of rows) {
      const v = bySeq.get(r.seq);
      expect(v, `seq ${r.seq} in SQLite but not on MQTT`).toBeDefined();
      expect([r.frame_id, r.verdict, r.score]).toEqual([v!.frameId, v!.verdict, v!.score]);
      expect(r.published_at, `seq ${r.seq} never acknowledged`).not.toBeNull();
    }
  });

  it('publishes payloads that follow the contract', () => {
    const v = verdicts[0]!;
    expect(Object.keys(v).sort()).toEqual(
      ['schema', 'seq', 'station', 'camera', 'frameId', 'partId', 'verdict', 'score', 'defects', 'capturedAt', 'decidedAt', 'latencyMs', 'deadlineMs', 'model'].sort(),
    );
    expect(v).toMatchObject({ schema: 1, station: 'it1', camera: 'cam1', deadlineMs: 250, model: { name: 'synthetic-line', backend: 'onnxruntime' } });
    expect(v.partId).toBe(`cam1-${v.frameId}`);
    expect(v.decidedAt - v.capturedAt).toBe(v.latencyMs);
  });

  it('agrees with the synthetic ground truth on at least 95% of frames', () => {
    let agree = 0;
    let judged = 0;
    for (const v of verdicts) {
      if ((v.frameId + 1) % CORRUPT_EVERY === 0) continue;
      const truth = renderPart({ width: 640, height: 512, channels: 1, defectRate: DEFECT_RATE, seed: SEED, index: v.frameId }).truth;
      judged++;
      if ((v.verdict === 'FAIL') === truth.defective && (v.verdict === 'PASS' || v.verdict === 'FAIL')) agree++;
    }
    expect(judged).toBeGreaterThan(80);
    expect(agree / judged).toBeGreaterThanOrEqual(0.95);
  });

  it('gives corrupt frames ERROR and keeps going after them', () => {
    const corrupt = verdicts.filter((v) => (v.frameId + 1) % CORRUPT_EVERY === 0);
    expect(corrupt.length).toBeGreaterThanOrEqual(2);
    for (const v of corrupt) {
      expect(v.verdict).toBe('ERROR');
      expect(v.error?.code).toBe('INSPECTD_FRAME_INVALID');
    }
    const lastCorrupt = Math.max(...corrupt.map((v) => v.frameId));
    expect(verdicts.some((v) => v.frameId > lastCorrupt && v.verdict !== 'ERROR')).toBe(true);
  });

  it('announces online and leaves offline on a clean stop', () => {
    expect(statuses[0]).toBe('online');
    expect(statuses.at(-1)).toBe('offline');
  });
});
