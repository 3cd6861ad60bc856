import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { DaemonProcess } from '../helpers/daemon.js';
import { defaultModelJson } from '../helpers/model.js';
import { makePki, TlsBroker, type TestPki } from '../helpers/tls-broker.js';

/**
 * A plant broker as IT sets one up: TLS with a private CA, a client certificate required, and a
 * password file. Certificates are made by the test with openssl; the broker is Debian's mosquitto.
 */
const SECRET = 'hunter2-for-inspectd';
let pki: TestPki;
let broker: TlsBroker;

function tlsConfig(station: string, extra: Record<string, unknown>) {
  return {
    station,
    deadlineMs: 500,
    model: { path: defaultModelJson },
    mqtt: { url: broker.url, username: 'line7', tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }, ...extra },
    cameras: [{ name: 'cam1', source: { type: 'synthetic', fps: 10 } }],
  };
}

async function subscriber(station: string) {
  const got: VerdictMessage[] = [];
  const client = await mqtt.connectAsync(broker.url, {
    username: 'scada',
    password: 'scada-pass',
    ca: readFileSync(pki.ca),
    cert: readFileSync(pki.clientCert),
    key: readFileSync(pki.clientKey),
  });
  client.on('message', (_t, p) => got.push(JSON.parse(p.toString()) as VerdictMessage));
  await client.subscribeAsync(`inspectd/${station}/verdict`, { qos: 1 });
  return { client, got };
}

beforeAll(async () => {
  pki = makePki();
  broker = await TlsBroker.start(pki, { line7: SECRET, scada: 'scada-pass' });
}, 30_000);

afterAll(async () => {
  await broker?.stop();
});

describe('the plant broker over TLS with a client certificate and a password', () => {
  it('delivers verdicts with the password read from a file, and never logs it', async () => {
    const sub = await subscriber('tls1');
    const pwFile = join(pki.dir, 'line7.pass');
    writeFileSync(pwFile, `${SECRET}\n`);
    const daemon = DaemonProcess.start(tlsConfig('tls1', { passwordFile: pwFile }));
    try {
      const end = Date.now() + 40_000;
      while (sub.got.length < 5 && Date.now() < end && daemon.child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    } finally {
      expect(await daemon.stop()).toBe(0);
      await sub.client.endAsync();
    }
    expect(sub.got.length).toBeGreaterThanOrEqual(5);
    expect(daemon.stdout + daemon.stderr).not.toContain(SECRET);
  }, 60_000);

  it('with a wrong password from the environment: keeps inspecting, says why it cannot publish, logs no secret', async () => {
    const sub = await subscriber('tls2');
    const wrong = 'not-the-password-123';
    const daemon = DaemonProcess.start(tlsConfig('tls2', {}), { INSPECTD_MQTT_PASSWORD: wrong });
    try {
      const end = Date.now() + 30_000;
      while (!daemon.stdout.includes('inspectd running') && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await daemon.stop();
      await sub.client.endAsync();
    }
    expect(sub.got).toHaveLength(0);
    expect(daemon.stdout).toMatch(/Not authorized|Bad username or password/);
    expect(daemon.stdout).toContain('inspecting anyway');
    expect(daemon.stdout + daemon.stderr).not.toContain(wrong);
    // Nothing was lost: the verdicts wait in the outbox for the broker to take them.
    const db = new Database(daemon.dbPath, { readonly: true });
    const { n, waiting } = db.prepare('SELECT COUNT(*) AS n, SUM(published_at IS NULL) AS waiting FROM verdicts').get() as { n: number; waiting: number };
    db.close();
    expect(n).toBeGreaterThan(0);
    expect(waiting).toBe(n);
  }, 60_000);

  it('refuses to start, exit 78 naming the field, when a certificate file cannot be read', async () => {
    const daemon = DaemonProcess.start({ ...tlsConfig('tls3', {}), mqtt: { url: broker.url, tls: { ca: '/nonexistent/ca.crt' } } });
    expect(await daemon.exited).toBe(78);
    expect(daemon.stderr).toContain('mqtt.tls.ca');
  }, 30_000);
});
