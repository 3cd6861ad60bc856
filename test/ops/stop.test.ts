import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { StopSteps } from '../../src/ops/stop-steps.js';
import { VerdictPublisher } from '../../src/outputs/mqtt/publisher.js';
import type { Outbox } from '../../src/outputs/output.js';
import { VerdictStore } from '../../src/record/store.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { verdict } from '../helpers/verdict-log.js';
import { DaemonProcess, sleep, syntheticConfig, tempDir, waitFor, writeConfig } from './helpers.js';

/**
 * The stop that sometimes did not end (docs/status.md): a QoS 1 publish in flight when the broker
 * died stays in MQTT.js's table of unacknowledged messages for good (its outgoing store keeps
 * nothing, so nothing re-sends it under that id), and a graceful end() waits for that table to empty.
 */
describe("the MQTT output's stop after a broker died with a verdict unacknowledged", () => {
  let broker: TestBroker | undefined;
  let pub: VerdictPublisher | undefined;
  afterAll(async () => {
    await broker?.kill();
  });

  it('ends within seconds, and the verdict is delivered again from the outbox', async () => {
    broker = await TestBroker.start();
    const store = new VerdictStore({ path: join(mkdtempSync(join(tmpdir(), 'inspectd-stop-')), 'v.db'), synchronous: 'NORMAL' });
    const outbox: Outbox = {
      unpublished: (after, limit) => store.unpublished('st1', after, limit),
      countUnpublished: () => store.countUnpublished('st1'),
      markPublished: (seqs, at) => {
        store.markPublished('st1', seqs, at);
        setImmediate(() => pub!.committed([], seqs));
      },
    };
    const publisher = new VerdictPublisher(
      outbox,
      { url: broker.url, topicPrefix: 'inspectd', station: 'st1', credentials: { rejectUnauthorized: true }, keepaliveS: 30, reconnectMs: 200, publishMode: 'on-decision' },
      pino({ level: 'silent' }),
    );
    pub = publisher;
    publisher.start();
    expect(await publisher.firstConnect(10_000)).toBe(true);
    const decide = (frameId: number) => {
      const msg = store.record(verdict(frameId));
      publisher.decided(msg);
      publisher.committed([msg.seq], []);
    };
    // Enough verdicts that the one left in flight has a message id the next connection does not reach.
    for (let i = 1; i <= 30; i++) decide(i);
    await waitFor('30 acknowledged', () => store.countUnpublished('st1') === 0, 10_000);

    broker.freeze();
    decide(31); // sent, never acknowledged
    await sleep(300);
    await broker.kill();
    await broker.restart();
    await waitFor('reconnected', () => publisher.connected, 15_000);
    await waitFor('the unacknowledged verdict re-sent from the outbox', () => store.countUnpublished('st1') === 0, 10_000);

    const t0 = Date.now();
    const ended = await Promise.race([publisher.stop().then(() => 'stopped'), sleep(10_000).then(() => 'still waiting')]);
    expect(ended).toBe('stopped');
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 60_000);
});

describe('a bounded stop', () => {
  it('names a step that never settles, goes on to the next, and logs one that throws', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const steps = new StopSteps(pino({ level: 'debug' }, sink));
    const order: string[] = [];
    const t0 = Date.now();
    expect(await steps.run('cameras', 1000, async () => (order.push('cameras'), 1))).toBe(1);
    expect(await steps.run('outputs stop', 300, () => (order.push('outputs stop'), new Promise<never>(() => {})))).toBeUndefined();
    expect(await steps.run('models', 1000, () => (order.push('models'), Promise.reject(new Error('session already closed'))))).toBeUndefined();
    await steps.run('verdict log close', 1000, () => void order.push('verdict log close'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(order).toEqual(['cameras', 'outputs stop', 'models', 'verdict log close']);
    expect(steps.hung).toEqual(['outputs stop']);
    await new Promise((r) => setImmediate(r));
    expect(lines.filter((l) => l.event === 'daemon.stop_hung').map((l) => [l.step, l.code, l.waitedMs])).toEqual([['outputs stop', 'INSPECTD_STOP_HUNG', 300]]);
    expect(lines.filter((l) => l.event === 'daemon.stop_failed').map((l) => [l.step, l.err])).toEqual([['models', 'session already closed']]);
  });
});

/**
 * A broker that stops answering with its connection open (a hung broker host): the MQTT output's
 * goodbye is never acknowledged and MQTT.js's graceful end waits for it. The daemon's stop must still
 * end, say which step hung, and exit 70.
 */
describe('the daemon stopped while its broker is frozen', () => {
  let broker: TestBroker | undefined;
  let daemon: DaemonProcess | undefined;
  afterAll(async () => {
    daemon?.kill();
    await broker?.kill();
  });

  it('exits 70 within the steps\' bounds, naming the MQTT output as the step that hung', async () => {
    broker = await TestBroker.start();
    const dir = tempDir('stop-frozen');
    const file = writeConfig(dir, syntheticConfig({ dir, fps: 10, deadlineMs: 2000, extra: ['shutdown:', '  drainMs: 1000'] }));
    daemon = DaemonProcess.start(file, ['--broker', broker.url]);
    await waitFor('ready', () => daemon!.event('ready'), 40_000);
    broker.freeze();
    await sleep(500); // verdicts sent meanwhile are not acknowledged
    const t0 = Date.now();
    const exit = await Promise.race([daemon.stop(), sleep(40_000).then(() => 'still running')]);
    const took = Date.now() - t0;
    const hung = daemon.events('daemon.stop_hung').map((l) => l.step);
    expect(exit, JSON.stringify(daemon.logs.slice(-6).map((l) => [l.event, l.msg]))).toBe(70);
    expect(hung).toEqual(['outputs stop']);
    expect(daemon.event('outbox.undelivered')).toBeDefined();
    expect(daemon.event('daemon.stopped')?.hung).toEqual(['outputs stop']);
    // drain 1 s + slack, the outputs' 8 s bound, the rest: well inside systemd's TimeoutStopSec=30.
    expect(took).toBeLessThan(25_000);
  }, 90_000);
});
