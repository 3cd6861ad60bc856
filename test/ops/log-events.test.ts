import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLogEvent, LOG_EVENTS } from '../../src/log-events.js';
import { BrokerState } from '../../src/outputs/mqtt/publisher.js';
import { repoRoot } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { DaemonProcess, sleep, syntheticConfig, tempDir, waitFor, writeConfig } from './helpers.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the log event catalogue', () => {
  it('names every event the code logs, and docs/operations.md lists every one', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(join(repoRoot, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/event: '([^']+)'/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(30);
    expect([...used].filter((e) => !isLogEvent(e))).toEqual([]);
    const docs = readFileSync(join(repoRoot, 'docs/operations.md'), 'utf8');
    expect(Object.keys(LOG_EVENTS).filter((e) => !docs.includes(`| \`${e}\``))).toEqual([]);
  });

  it('tells a broker outage once, however many reconnects fail', () => {
    let now = 0;
    const s = new BrokerState(() => now);
    expect(s.up()).toEqual({});
    expect(s.down()).toBe(true);
    expect(s.error('connect ECONNREFUSED')).toBe(true);
    for (let i = 0; i < 10; i++) {
      now += 1000;
      s.reconnecting();
      expect(s.down()).toBe(false);
      expect(s.error('connect ECONNREFUSED')).toBe(false);
    }
    expect(s.error('Not authorized')).toBe(true);
    expect(s.up()).toEqual({ downForMs: 10_000, reconnectAttempts: 10 });
    expect(s.down()).toBe(true);
    expect(s.outages).toBe(2);
  });
});

/**
 * The real daemon's log, through what an operator greps for: a camera that cannot open, a broker
 * killed and restarted, deadlines no frame can meet, a reload applied and one refused, a stop. Every
 * line at info and above must carry an event from the catalogue.
 */
describe("the daemon's real log lines", () => {
  let broker: TestBroker;
  let daemon: DaemonProcess;
  let stopExit: { exit: unknown; last: unknown[] } | undefined;
  afterAll(async () => {
    daemon?.kill();
    await broker?.stop();
  });

  it('carry a catalogued event on every line at info and above, and each outage is told once', async () => {
    broker = await TestBroker.start();
    const dir = tempDir('log-events');
    const text = (deadlineMs: number) =>
      syntheticConfig({ dir, fps: 10, deadlineMs, extra: ['mqtt:', '  reconnectMs: 200'] }).replace(
        'storage:',
        ['  - name: cam2', '    source:', '      type: opencv', `      device: ${dir}/no-such-camera.mp4`, '      maxFailedGrabs: 2', 'storage:'].join('\n'),
      );
    const file = writeConfig(dir, text(250));
    daemon = DaemonProcess.start(file, ['--broker', broker.url, '--http', '127.0.0.1:0']);
    await waitFor('ready', () => daemon.event('ready'), 40_000);
    await waitFor('camera.down', () => daemon.events('camera.down').find((l) => l.camera === 'cam2'), 30_000);

    await broker.kill();
    await waitFor('broker.down', () => daemon.event('broker.down'), 15_000);
    await sleep(2500); // about 12 failed reconnects at 200 ms
    await broker.restart();
    const up = await waitFor('broker.up after the outage', () => daemon.events('broker.up').find((l) => typeof l.downForMs === 'number'), 15_000);
    expect(up.reconnectAttempts as number).toBeGreaterThanOrEqual(3);
    expect(daemon.events('broker.down')).toHaveLength(1);
    expect(daemon.events('broker.error').length).toBeLessThanOrEqual(2);

    // A deadline no frame can meet: TIMEOUTs summarised per interval, not logged per frame.
    writeConfig(dir, text(1));
    daemon.child.kill('SIGHUP');
    await waitFor('config.reloaded', () => daemon.event('config.reloaded'), 15_000);
    const missedOf = (camera: string) => daemon.events('deadline.missed').reduce((n, l) => n + ((l.cameras as Record<string, number>)[camera] ?? 0), 0);
    await waitFor('deadline.missed summaries', () => missedOf('cam1') > 20, 20_000);
    writeConfig(dir, 'deadlineMs: [not a number');
    daemon.child.kill('SIGHUP');
    await waitFor('config.reload_refused', () => daemon.event('config.reload_refused'), 15_000);
    // SIGTERM: the stop's own lines count too. A stop that does not end is its own test below.
    const exit = await Promise.race([daemon.stop(), sleep(30_000).then(() => 'still running')]);
    stopExit = { exit, last: daemon.logs.slice(-5).map((l) => [l.event, l.msg]) };
    if (exit !== 0) daemon.kill();

    const loud = daemon.logs.filter((l) => l.level >= 30);
    expect(loud.filter((l) => !isLogEvent(l.event)).map((l) => `${l.level} ${l.msg}`)).toEqual([]);
    const seen = new Set(loud.map((l) => l.event));
    for (const e of ['daemon.running', 'model.loaded', 'http.listening', 'camera.starting', 'camera.up', 'camera.down', 'ready', 'broker.up', 'broker.down', 'deadline.missed', 'config.reloaded', 'config.reload_refused', 'daemon.stopping']) {
      expect(seen, e).toContain(e);
    }
    // Summaries, not a line per TIMEOUT: far fewer deadline.missed lines than missed frames.
    const lines = daemon.events('deadline.missed');
    // One line per tick (5 s here, no watchdog): each but the stop's last flush covers a whole tick.
    expect(lines.slice(0, -1).every((l) => (l.intervalMs as number) >= 4000), JSON.stringify(lines.map((l) => [l.total, l.intervalMs]))).toBe(true);
    expect(lines.reduce((n, l) => n + (l.total as number), 0)).toBeGreaterThan(lines.length * 3);
  }, 150_000);

  // Seen failing here 3 times in 12 runs: stuck after daemon.stopping and the synthetic camera's stop,
  // before the scheduler drain's own warning (src/daemon.ts doStop); not reproduced by the same steps
  // outside vitest. Kept as a test: a stop that does not end is killed by systemd after TimeoutStopSec.
  it('then stops cleanly on SIGTERM within 30 s, with daemon.stopped', () => {
    expect(stopExit?.exit, `last lines: ${JSON.stringify(stopExit?.last)}`).toBe(0);
    expect(daemon.event('daemon.stopped')).toBeDefined();
  });
});
