import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { DaemonProcess, metric, parseExposition, syntheticConfig, tempDir, waitFor, writeConfig, type Sample } from '../ops/helpers.js';

/**
 * /metrics, /healthz and /readyz of the real daemon (`inspectd run --http 127.0.0.1:0`, a child
 * process on the synthetic line with a real mosquitto), the exposition checked by Prometheus' own
 * `promtool check metrics` (Debian package prometheus), health seen while the broker is down and
 * while a camera is down.
 */
const sum = metric;
const one = (s: Sample[], name: string, labels: Record<string, string> = {}) => {
  const found = s.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
  return found[0]!;
};

interface Readyz {
  status: string;
  ready: boolean;
  checks: Record<string, { ok: boolean; [k: string]: unknown }>;
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url);
  return { status: r.status, text: await r.text() };
}

describe('metrics and health of a running daemon', () => {
  let broker: TestBroker;
  let daemon: DaemonProcess;
  let base: string;
  const scrape = async () => parseExposition((await get(`${base}/metrics`)).text);

  beforeAll(async () => {
    broker = await TestBroker.start();
    const dir = tempDir('http');
    const cfg = writeConfig(dir, syntheticConfig({ dir, fps: 20, deadlineMs: 250, extra: ['http:', '  readyMaxBacklog: 3', 'archive: { enabled: true }'] }));
    daemon = DaemonProcess.start(cfg, ['--broker', broker.url, '--http', '127.0.0.1:0']);
    base = await daemon.httpBase();
    await waitFor('20 verdicts', async () => sum(await scrape(), 'inspectd_verdicts_total') >= 20, 40_000);
  }, 90_000);

  afterAll(async () => {
    daemon?.kill();
    await broker?.stop();
  });

  it('passes promtool check metrics with no lint problems', async () => {
    const { status, text } = await get(`${base}/metrics`);
    expect(status).toBe(200);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('counts frames and verdicts per camera and knows the model, the build and the process', async () => {
    const s = await scrape();
    const verdicts = sum(s, 'inspectd_verdicts_total', { camera: 'cam1' });
    expect(verdicts).toBeGreaterThanOrEqual(20);
    expect(sum(s, 'inspectd_frames_total', { camera: 'cam1' })).toBeGreaterThanOrEqual(verdicts);
    expect(sum(s, 'inspectd_verdicts_total', { verdict: 'PASS' }) + sum(s, 'inspectd_verdicts_total', { verdict: 'FAIL' })).toBeGreaterThan(verdicts * 0.5);
    // precision auto is chosen at start by measuring both files: the metric names what the log says loaded.
    const loaded = daemon.logs.find((l) => l.msg === 'model loaded')!.model as Record<string, string>;
    expect(one(s, 'inspectd_model_info').labels).toEqual({ name: 'synthetic-line', version: '1.0.0', precision: loaded.precision, backend: 'onnxruntime' });
    expect(one(s, 'inspectd_build_info').labels).toMatchObject({ version: '0.1.0', node: process.version });
    // The histogram has a bucket at the 250 ms deadline, and every verdict in its count.
    expect(s.some((x) => x.name === 'inspectd_verdict_latency_seconds_bucket' && x.labels.le === '0.25')).toBe(true);
    expect(sum(s, 'inspectd_verdict_latency_seconds_count')).toBe(verdicts);
    expect(sum(s, 'inspectd_deadline_misses_total', { camera: 'cam1' })).toBe(sum(s, 'inspectd_verdicts_total', { verdict: 'TIMEOUT' }));
    expect(one(s, 'inspectd_camera_up', { camera: 'cam1' }).value).toBe(1);
    expect(one(s, 'inspectd_mqtt_connected').value).toBe(1);
    expect(one(s, 'inspectd_storage_state', { state: 'ok' }).value).toBe(1);
    expect(one(s, 'inspectd_database_size_bytes').value).toBeGreaterThan(0);
    // The archive (turned on here) keeps the FAIL frames' images: about 30% of this line.
    expect(one(s, 'inspectd_archive_size_bytes').value).toBeGreaterThan(0);
    expect(one(s, 'inspectd_queue_depth').value).toBeGreaterThanOrEqual(0);
    expect(one(s, 'inspectd_frames_shed_total').value).toBeGreaterThanOrEqual(0);
    expect(one(s, 'process_resident_memory_bytes').value).toBeGreaterThan(50e6);
    // The scheduler's own stage timings, per model: inference takes a few ms on this model, never 0.
    expect(one(s, 'inspectd_stage_duration_seconds', { model: 'synthetic-line', stage: 'infer', percentile: '50' }).value).toBeGreaterThan(0.0005);
  });

  it('is alive and ready with every check shown', async () => {
    const h = await get(`${base}/healthz`);
    expect(h.status).toBe(200);
    expect(JSON.parse(h.text)).toMatchObject({ status: 'ok', alive: true });
    const r = await get(`${base}/readyz`);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text) as Readyz;
    expect(body.ready).toBe(true);
    expect(Object.keys(body.checks).sort()).toEqual(['broker', 'cameras', 'inspection', 'model', 'pipeline', 'storage']);
    expect(body.checks.broker).toMatchObject({ ok: true, connected: true });
  });

  it('inspectd status prints the same readiness from the command line', () => {
    const http = base.replace('http://', '');
    const r = spawnSync(process.execPath, [cliPath, 'status', '--http', http], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ready: running; \d+ frames/);
    expect(r.stdout).toMatch(/^ {2}ok {3}broker \{"connected":true/m);
    const none = spawnSync(process.execPath, [cliPath, 'status', '--http', '127.0.0.1:1'], { encoding: 'utf8' });
    expect(none.status).toBe(69);
  });

  it('stays alive but is not ready while the broker is down and the outbox grows past its bound, and ready again after', async () => {
    await broker.stop();
    await waitFor('mqtt_connected 0', async () => one(await scrape(), 'inspectd_mqtt_connected').value === 0, 15_000);
    const r = await waitFor('/readyz 503', async () => {
      const res = await get(`${base}/readyz`);
      return res.status === 503 && res;
    }, 15_000);
    const body = JSON.parse(r.text) as Readyz;
    expect(body.checks.broker).toMatchObject({ ok: false, connected: false });
    expect(body.checks.broker!.backlog as number).toBeGreaterThan(3);
    expect(body.checks.cameras!.ok).toBe(true);
    expect((await get(`${base}/healthz`)).status).toBe(200); // the line still answers frames
    expect(one(await scrape(), 'inspectd_outbox_backlog').value).toBeGreaterThan(3);

    const status = spawnSync(process.execPath, [cliPath, 'status', '--http', base.replace('http://', '')], { encoding: 'utf8' });
    expect(status.status).toBe(1);
    expect(status.stdout).toMatch(/^NOT READY: /);
    expect(status.stdout).toMatch(/^ {2}FAIL broker /m);

    await broker.restart();
    await waitFor('/readyz 200 after the broker is back', async () => (await get(`${base}/readyz`)).status === 200, 20_000);
  }, 60_000);
});

describe('health while a camera is down', () => {
  let daemon: DaemonProcess;
  let broker: TestBroker;

  afterAll(async () => {
    daemon?.kill();
    await broker?.stop();
  });

  it('is not ready, names the camera that is down, and keeps answering the other', async () => {
    broker = await TestBroker.start();
    const dir = tempDir('http-cam');
    const text = syntheticConfig({ dir, fps: 20 }).replace(
      'storage:',
      ['  - name: cam2', '    source:', '      type: opencv', `      device: ${dir}/no-such-camera.mp4`, '      maxFailedGrabs: 2', 'storage:'].join('\n'),
    );
    daemon = DaemonProcess.start(writeConfig(dir, text), ['--broker', broker.url, '--http', '127.0.0.1:0']);
    const base = await daemon.httpBase();
    await waitFor('camera.down', () => daemon.logs.find((l) => l.event === 'camera.down' && l.camera === 'cam2'), 40_000);
    await waitFor('a frame of cam1 answered', () => daemon.logs.some((l) => l.event === 'ready'), 40_000);
    const r = await get(`${base}/readyz`);
    expect(r.status).toBe(503);
    const body = JSON.parse(r.text) as Readyz;
    const cams = body.checks.cameras!.cameras as Record<string, { state: string; reason?: string }>;
    expect(cams.cam1!.state).toBe('up');
    expect(cams.cam2!.state).toBe('down');
    expect(cams.cam2!.reason).toMatch(/no-such-camera|failed grabs|cannot open/);
    expect(body.checks.model!.ok).toBe(true);
    const s = parseExposition((await get(`${base}/metrics`)).text);
    expect(one(s, 'inspectd_camera_up', { camera: 'cam2' }).value).toBe(0);
    expect(one(s, 'inspectd_camera_up', { camera: 'cam1' }).value).toBe(1);
    expect(sum(s, 'inspectd_frames_total', { camera: 'cam1' })).toBeGreaterThan(0);
    expect(sum(s, 'inspectd_frames_total', { camera: 'cam2' })).toBe(0);
    expect((await get(`${base}/healthz`)).status).toBe(200);
  }, 60_000);
});
