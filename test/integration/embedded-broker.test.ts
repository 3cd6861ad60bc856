import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { cliPath, defaultModelJson } from '../helpers/model.js';
import { freePort } from '../helpers/mosquitto.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function listening(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

describe('the embedded broker', () => {
  it('serves verdicts to any MQTT client on loopback, with the retained status, and goes away on stop', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'inspectd-emb-'));
    const cfg = join(dir, 'c.yaml');
    writeFileSync(
      cfg,
      `model: { path: ${defaultModelJson} }\nmqtt: { embeddedBroker: { port: ${port} } }\nstorage: { path: ${join(dir, 'v.db')} }\nlog: { level: warn }\n`,
    );
    const daemon = spawn(process.execPath, [cliPath, 'run', '-c', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    daemon.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const end = Date.now() + 20_000;
      while (!(await listening(port)) && Date.now() < end) await sleep(100);
      expect(await listening(port)).toBe(true);
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'emb-sub' });
      const got: VerdictMessage[] = [];
      let status = '';
      client.on('message', (topic, p) => {
        if (topic === 'inspectd/station1/status') status = p.toString(); // not camera/{name}/status
        else if (topic.endsWith('/verdict')) got.push(JSON.parse(p.toString()) as VerdictMessage);
      });
      await client.subscribeAsync('inspectd/#', { qos: 1 });
      const seen = Date.now() + 30_000;
      while (got.length < 10 && Date.now() < seen) await sleep(50);
      await client.endAsync();
      // A client that connects once verdicts flow gets the status from the broker's retained copy.
      const later = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'emb-later' });
      const retained = new Promise<{ payload: string; retain: boolean }>((r) => later.once('message', (_t, p, packet) => r({ payload: p.toString(), retain: packet.retain })));
      await later.subscribeAsync('inspectd/station1/status', { qos: 1 });
      const first = await Promise.race([retained, sleep(5000).then(() => undefined)]);
      await later.endAsync();
      // Default station and prefix: inspectd/station1/...
      expect(status).toBe('online');
      expect(first).toEqual({ payload: 'online', retain: true });
      expect(got.length).toBeGreaterThanOrEqual(10);
      expect(got.every((v) => v.station === 'station1' && v.camera === 'cam1')).toBe(true);
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon.once('exit', r));
    }
    expect(daemon.exitCode).toBe(0);
    expect(stderr).toBe('');
    expect(await listening(port)).toBe(false);
  }, 60_000);

  it('refuses to start, naming the port, when the embedded broker port is taken', async () => {
    const { TestBroker } = await import('../helpers/mosquitto.js');
    const other = await TestBroker.start();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'inspectd-emb-'));
      const cfg = join(dir, 'c.yaml');
      writeFileSync(cfg, `model: { path: ${defaultModelJson} }\nmqtt: { embeddedBroker: { port: ${other.port} } }\nstorage: { path: ${join(dir, 'v.db')} }\nlog: { level: fatal }\n`);
      const daemon = spawn(process.execPath, [cliPath, 'run', '-c', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      daemon.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((r) => daemon.once('exit', r));
      expect(code).toBe(1);
      expect(stderr).toContain(`127.0.0.1:${other.port} is already in use`);
    } finally {
      await other.stop();
    }
  }, 40_000);
});
