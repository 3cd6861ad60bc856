import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { DaemonProcess, metric, scrape, sleep, syntheticConfig, tempDir, waitFor, writeConfig } from './helpers.js';

/**
 * Remote commands on the real daemon (a child process) through a real mosquitto: a SCADA client
 * publishes on `inspectd/station1/cmd` and reads `…/cmd/reply`; the same reload over HTTP
 * (`POST /reload`). Both need the token from http.tokenFile; read-only ones (status, GET routes) do not.
 */
const TOKEN = '5e0c1b2a39d84f7e6a5b4c3d2e1f0a9b';
let dir: string;
let broker: TestBroker;
let daemon: DaemonProcess;
let scada: MqttClient;
let base: string;
const replies: Array<Record<string, unknown>> = [];
const config = (threshold: number) => syntheticConfig({ dir, fps: 10, defectRate: 0, threshold, extra: ['http:', `  tokenFile: ${join(dir, 'token')}`] });

beforeAll(async () => {
  dir = tempDir('cmd');
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  broker = await TestBroker.start();
  daemon = DaemonProcess.start(writeConfig(dir, config(0)), ['--broker', broker.url, '--http', '127.0.0.1:0']);
  base = await daemon.httpBase();
  await waitFor('ready', () => daemon.event('ready'), 40_000);
  scada = await mqtt.connectAsync(broker.url, { clientId: 'scada' });
  scada.on('message', (_t, p) => replies.push(JSON.parse(p.toString()) as Record<string, unknown>));
  await scada.subscribeAsync('inspectd/station1/cmd/reply', { qos: 1 });
}, 60_000);

afterAll(async () => {
  await scada?.endAsync(true);
  daemon?.kill();
  await broker?.stop();
});

/** Publishes a command (object or raw text) and waits for the reply that carries `id`. */
async function command(payload: string | Record<string, unknown>, id: unknown): Promise<Record<string, unknown>> {
  const seen = replies.length;
  await scada.publishAsync('inspectd/station1/cmd', typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
  return waitFor(`the reply to ${String(id)}`, () => replies.slice(seen).find((r) => r.id === id), 15_000);
}

const reloads = async () => metric(await scrape(base), 'inspectd_config_reloads_total');

describe('remote commands over MQTT', () => {
  it('answers status without a token (read-only), with what /readyz says', async () => {
    const r = await command({ id: 's1', command: 'status' }, 's1');
    expect(r).toMatchObject({ id: 's1', ok: true, command: 'status', ready: true });
    expect(r.summary).toMatch(/frames: \d+ PASS, \d+ FAIL/);
  });

  it('refuses reload without the token or with a wrong one, with a code, changing nothing', async () => {
    const before = await reloads();
    expect(await command({ id: 'r1', command: 'reload' }, 'r1')).toMatchObject({ id: 'r1', ok: false, command: 'reload', error: { code: 'INSPECTD_AUTH_REQUIRED' } });
    expect(await command({ id: 'r2', command: 'reload', token: 'not-the-token-not-the-token' }, 'r2')).toMatchObject({ ok: false, error: { code: 'INSPECTD_AUTH_DENIED' } });
    expect(await reloads()).toBe(before);
    expect(daemon.events('command.refused').length).toBeGreaterThanOrEqual(2);
  });

  it('answers malformed and unknown commands with an error, and keeps running', async () => {
    const notJson = await command('{"id": "x", command: reload', null);
    expect(notJson).toMatchObject({ id: null, ok: false, error: { code: 'INSPECTD_COMMAND_INVALID' } });
    expect(await command({ id: 7, command: 'format-disk', token: TOKEN }, 7)).toMatchObject({ ok: false, error: { code: 'INSPECTD_COMMAND_INVALID', message: expect.stringMatching(/unknown command "format-disk"/) } });
    expect(await command({ id: 'no-command' }, 'no-command')).toMatchObject({ ok: false, error: { code: 'INSPECTD_COMMAND_INVALID' } });
    expect(await command({ id: 'extra', command: 'status', shell: 'rm -rf /' }, 'extra')).toMatchObject({ ok: false, error: { code: 'INSPECTD_COMMAND_INVALID' } });
    expect(await command('[]', null)).toMatchObject({ ok: false, error: { code: 'INSPECTD_COMMAND_INVALID' } });
    expect(daemon.child.exitCode).toBeNull();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('reloads with the token, answers once with what changed, and the line judges by the new config', async () => {
    writeConfig(dir, config(1));
    const r = await command({ id: 'go', command: 'reload', token: TOKEN }, 'go');
    expect(r).toMatchObject({ id: 'go', ok: true, command: 'reload', result: 'applied', changed: ['cameras[0].thresholds.default'] });
    const pass = metric(await scrape(base), 'inspectd_verdicts_total', { verdict: 'PASS' });
    await waitFor('PASS verdicts under the new threshold', async () => metric(await scrape(base), 'inspectd_verdicts_total', { verdict: 'PASS' }) >= pass + 3, 15_000);
    // A refused reload is answered too, with every reason, and the old config runs on.
    writeConfig(dir, config(1).replace('fps: 10', 'fps: -1'));
    const bad = await command({ id: 'bad', command: 'reload', token: TOKEN }, 'bad');
    expect(bad).toMatchObject({ ok: false, error: { code: 'INSPECTD_RELOAD_REFUSED', issues: [{ path: 'cameras[0].source.fps' }] } });
    await sleep(500);
    for (const id of ['s1', 'r1', 'r2', 7, 'go', 'bad']) expect(replies.filter((x) => x.id === id)).toHaveLength(1);
  }, 30_000);
});

describe('state-changing HTTP routes', () => {
  it('needs the bearer token for POST /reload; GET routes stay open', async () => {
    writeConfig(dir, config(0));
    const none = await fetch(`${base}/reload`, { method: 'POST' });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ ok: false, error: { code: 'INSPECTD_AUTH_REQUIRED' } });
    const wrong = await fetch(`${base}/reload`, { method: 'POST', headers: { authorization: 'Bearer 0000000000000000000000' } });
    expect(wrong.status).toBe(403);
    const ok = await fetch(`${base}/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ ok: true, result: 'applied', changed: ['cameras[0].thresholds.default'] });
    for (const path of ['/metrics', '/healthz', '/readyz']) expect((await fetch(`${base}${path}`)).status).toBeLessThan(500);
  });
});

describe('a token file that cannot be read', () => {
  it('is a bad config: run and check-config exit 78 naming http.tokenFile', () => {
    const d = tempDir('cmd-missing');
    const file = writeConfig(d, syntheticConfig({ dir: d, extra: ['http:', `  tokenFile: ${join(d, 'no-such-token')}`] }));
    const run = spawnSync(process.execPath, [cliPath, 'run', '-c', file, '--broker', 'mqtt://127.0.0.1:1'], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(78);
    expect(run.stderr).toMatch(/http\.tokenFile: cannot read .*no-such-token: ENOENT/);
    const check = spawnSync(process.execPath, [cliPath, 'check-config', file, '--no-model'], { encoding: 'utf8', timeout: 30_000 });
    expect(check.status).toBe(78);
    expect(check.stderr).toMatch(/http\.tokenFile/);
  });
});
