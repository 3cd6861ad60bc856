import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { freePort, TestBroker } from '../helpers/mosquitto.js';
import { cliPath, defaultModelJson } from '../helpers/model.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function writeConfig(dir: string): string {
  const file = join(dir, 'inspectd.yaml');
  writeFileSync(
    file,
    [
      'station: out1',
      'deadlineMs: 250',
      'model:',
      `  path: ${defaultModelJson}`,
      'mqtt:',
      '  reconnectMs: 200',
      'cameras:',
      '  - name: cam1',
      '    source: { type: synthetic, fps: 20, seed: 3 }',
      'log: { level: warn, format: json }',
      '',
    ].join('\n'),
  );
  return file;
}

function startDaemon(cfg: string, brokerUrl: string, db: string): ChildProcess {
  const child = spawn(process.execPath, [cliPath, 'run', '-c', cfg, '--broker', brokerUrl, '--db', db], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.resume();
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

/**
 * A subscriber with a persistent session (clean: false, QoS 1), as a PLC gateway would have: the
 * broker queues verdicts for it while it reconnects, so what it misses is what the broker lost.
 */
async function subscriber(url: string, into: Map<number, VerdictMessage>): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { clientId: `outage-sub-${process.pid}-${Date.now()}`, clean: false, reconnectPeriod: 50 });
  c.on('message', (_t, p) => {
    const v = JSON.parse(p.toString()) as VerdictMessage;
    into.set(v.seq, v);
  });
  c.on('connect', () => void c.subscribe('inspectd/out1/verdict', { qos: 1 }));
  await c.subscribeAsync('inspectd/out1/verdict', { qos: 1 });
  return c;
}

/** Polls until the condition holds; the daemon's start-up time varies a lot on a loaded CI box. */
async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function dbRows(db: string): Array<{ seq: number; published_at: number | null }> {
  if (!existsSync(db)) return [];
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return d.prepare('SELECT seq, published_at FROM verdicts ORDER BY seq').all() as Array<{ seq: number; published_at: number | null }>;
  } catch (err) {
    // The daemon creates the file a moment before its schema.
    if (/no such table/.test((err as Error).message)) return [];
    throw err;
  } finally {
    d.close();
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c().catch(() => {});
});

describe('no verdict is lost', () => {
  it('keeps verdicts through a broker outage and delivers every one after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspectd-outage-'));
    const db = join(dir, 'v.db');
    const broker = await TestBroker.start(undefined, { persistent: true });
    cleanups.push(() => broker.stop());
    const got = new Map<number, VerdictMessage>();
    const sub = await subscriber(broker.url, got);
    cleanups.push(() => sub.endAsync(true));
    const daemon = startDaemon(writeConfig(dir), broker.url, db);
    cleanups.push(async () => daemon.kill('SIGKILL'));

    await until('20 published verdicts', () => dbRows(db).filter((r) => r.published_at !== null).length >= 20);
    await broker.stop();
    await until('20 verdicts held during the outage', () => dbRows(db).filter((r) => r.published_at === null).length >= 20);
    const duringOutage = dbRows(db).filter((r) => r.published_at === null).length;
    await broker.restart();
    await until('the backlog to drain', () => dbRows(db).every((r) => r.published_at !== null));
    await sleep(500);
    daemon.kill('SIGTERM');
    expect(await exited(daemon)).toBe(0);
    await sleep(300);

    const rows = dbRows(db);
    expect(duringOutage).toBeGreaterThanOrEqual(20);
    expect(rows.every((r) => r.published_at !== null)).toBe(true);
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    // Verdicts decided while the broker was down arrive once it is back: every one reaches the subscriber.
    const missing = rows.filter((r) => !got.has(r.seq)).map((r) => r.seq);
    expect(missing).toEqual([]);
  }, 90_000);

  it('sends what was recorded but unpublished before a crash (SIGKILL) at the next start, and seq carries on after the reserved block', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inspectd-crash-'));
    const db = join(dir, 'v.db');
    const port = await freePort();
    const cfg = writeConfig(dir);
    // First life: no broker reachable, then killed without warning.
    const first = startDaemon(cfg, `mqtt://127.0.0.1:${port}`, db);
    cleanups.push(async () => first.kill('SIGKILL'));
    await until('20 recorded verdicts', () => dbRows(db).length >= 20);
    first.kill('SIGKILL');
    await exited(first);
    const before = dbRows(db);
    expect(before.length).toBeGreaterThanOrEqual(20);
    expect(before.every((r) => r.published_at === null)).toBe(true);

    // Second life: broker up; the backlog goes out first, new verdicts follow.
    const broker = await TestBroker.start(port);
    cleanups.push(() => broker.stop());
    const got = new Map<number, VerdictMessage>();
    const sub = await subscriber(broker.url, got);
    cleanups.push(() => sub.endAsync(true));
    const second = startDaemon(cfg, broker.url, db);
    cleanups.push(async () => second.kill('SIGKILL'));
    await until('new verdicts after the restart', () => dbRows(db).length >= before.length + 20);
    await until('the backlog to drain', () => dbRows(db).every((r) => r.published_at !== null));
    second.kill('SIGTERM');
    expect(await exited(second)).toBe(0);
    await sleep(300);

    const after = dbRows(db);
    expect(after.length).toBeGreaterThan(before.length);
    // The first life's rows are 1..n; the second life starts after the seqs the first had reserved
    // ahead of use (src/record/recorder.ts): a gap of at most one block, never a reused seq.
    const firstLife = after.slice(0, before.length).map((r) => r.seq);
    const secondLife = after.slice(before.length).map((r) => r.seq);
    expect(firstLife).toEqual(before.map((_, i) => i + 1));
    expect(secondLife[0]! - before.length - 1).toBeGreaterThanOrEqual(0);
    expect(secondLife[0]! - before.length - 1).toBeLessThanOrEqual(10_000);
    expect(secondLife).toEqual(secondLife.map((_, i) => secondLife[0]! + i));
    expect(after.every((r) => r.published_at !== null)).toBe(true);
    for (const r of after) expect(got.has(r.seq), `seq ${r.seq} never reached the subscriber`).toBe(true);
  }, 90_000);
});
