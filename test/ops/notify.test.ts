import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBroker } from '../helpers/mosquitto.js';
import { DaemonProcess, NotifyListener, sleep, syntheticConfig, tempDir, waitFor, writeConfig } from './helpers.js';

/**
 * sd_notify as systemd would see it: the daemon (`inspectd run`, a child process) is given a notify
 * socket the test binds itself and a 600 ms watchdog (WATCHDOG_USEC), as a Type=notify unit with
 * WatchdogSec= would. The pipeline is then made to stop answering frames by a live reload to a
 * deadline no frame can meet (every frame is given TIMEOUT before inference can start), and back.
 */
const WATCHDOG_USEC = 600_000; // WATCHDOG=1 due every 300 ms
const STALL_MS = 1_000;

let dir: string;
let broker: TestBroker;
let notify: NotifyListener;
let daemon: DaemonProcess;
let cfgFile: string;
const config = (deadlineMs: number) => syntheticConfig({ dir, fps: 20, deadlineMs, extra: ['watchdog:', `  stallMs: ${STALL_MS}`] });

beforeAll(async () => {
  dir = tempDir('notify');
  broker = await TestBroker.start();
  notify = await NotifyListener.start(dir);
  cfgFile = writeConfig(dir, config(250));
  daemon = DaemonProcess.start(cfgFile, ['--broker', broker.url, '--http', '127.0.0.1:0'], { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: String(WATCHDOG_USEC) });
}, 30_000);

afterAll(async () => {
  daemon?.kill();
  notify?.stop();
  await broker?.stop();
});

const watchdogs = (from: number, to = Infinity) => notify.assignments().filter((a) => a.key === 'WATCHDOG' && a.at >= from && a.at < to);
const lastStatus = () => notify.assignments().filter((a) => a.key === 'STATUS').at(-1)?.value ?? '';
const count = (status: string, kind: string) => Number(new RegExp(`(\\d+) ${kind}`).exec(status)?.[1] ?? NaN);

describe('sd_notify', () => {
  it('sends READY=1 only once the model is loaded, the camera started and a frame answered', async () => {
    const ready = await waitFor('READY=1', () => notify.assignments().find((a) => a.key === 'READY'), 40_000);
    const modelLoaded = daemon.logs.find((l) => l.msg === 'model loaded');
    // The camera is started once it is up (a camera that never opens is `down`, never "started": issue 6).
    const cameraStarted = daemon.logs.find((l) => l.msg === 'camera up');
    expect(modelLoaded && cameraStarted).toBeTruthy();
    expect(ready.at).toBeGreaterThanOrEqual(cameraStarted!.time);
    // READY=1 and STATUS= travel in one datagram: the status at READY counts the frames answered by then.
    const atReady = notify.messages.find((m) => m.text.startsWith('READY=1'))!.text;
    expect(atReady).toMatch(/STATUS=running; \d+ frames/);
    expect(count(atReady, 'PASS') + count(atReady, 'FAIL') + count(atReady, 'ERROR')).toBeGreaterThanOrEqual(1);
    expect(notify.assignments().filter((a) => a.key === 'READY')).toHaveLength(1);
  }, 45_000);

  it('sends WATCHDOG=1 at least every half watchdog interval while frames are answered', async () => {
    const from = Date.now();
    await sleep(2_000);
    const w = watchdogs(from, Date.now());
    expect(w.length).toBeGreaterThanOrEqual(5);
    const gaps = w.slice(1).map((x, i) => x.at - w[i]!.at);
    // Due every 300 ms; a loaded 2-core box may delay a timer, never by a whole interval.
    expect(Math.max(...gaps)).toBeLessThan(WATCHDOG_USEC / 1000);
    expect(lastStatus()).toMatch(/^running; \d+ frames: \d+ PASS, \d+ FAIL, \d+ TIMEOUT, \d+ ERROR; cameras 1\/1 up; broker connected/);
  });

  it('stops WATCHDOG=1 while frames come in but none is answered, and /healthz says stalled', async () => {
    const base = await daemon.httpBase();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    writeConfig(dir, config(0.01));
    const hupAt = Date.now();
    daemon.child.kill('SIGHUP');
    await waitFor('config.reloaded', () => daemon.events('config.reloaded').length === 1, 10_000);
    const reloading = await waitFor('RELOADING=1', () => notify.assignments().find((a) => a.key === 'RELOADING' && a.at >= hupAt), 5_000);
    await waitFor('READY=1 after the reload', () => notify.assignments().find((a) => a.key === 'READY' && a.at >= reloading.at), 5_000);

    const stalled = await waitFor('pipeline.stalled', () => daemon.event('pipeline.stalled'), 10_000);
    expect(stalled.time - hupAt).toBeGreaterThanOrEqual(STALL_MS);
    const timeoutsBefore = count(lastStatus(), 'TIMEOUT');
    const from = Date.now();
    await sleep(2_000);
    // Frames kept coming (each TIMEOUT at once), and not one WATCHDOG=1 went out: systemd would restart us.
    expect(watchdogs(from, Date.now())).toHaveLength(0);
    expect(count(lastStatus(), 'TIMEOUT')).toBeGreaterThan(timeoutsBefore + 20);
    expect(lastStatus()).toMatch(/^STALLED \(no frame answered for \d+ s\)/);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { status: string }).status).toBe('stalled');
  }, 30_000);

  it('feeds the watchdog again once frames are answered again', async () => {
    writeConfig(dir, config(250));
    const hupAt = Date.now();
    daemon.child.kill('SIGHUP');
    await waitFor('pipeline.resumed', () => daemon.event('pipeline.resumed'), 10_000);
    await waitFor('WATCHDOG=1 again', () => watchdogs(hupAt).length >= 3, 5_000);
  }, 20_000);

  it('sends STOPPING=1 on SIGTERM and exits 0', async () => {
    const at = Date.now();
    expect(await daemon.stop()).toBe(0);
    await waitFor('STOPPING=1', () => notify.assignments().find((a) => a.key === 'STOPPING' && a.at >= at), 5_000);
  }, 30_000);
});
