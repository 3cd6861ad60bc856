import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TestBroker } from '../helpers/mosquitto.js';
import { defaultModelJson } from '../helpers/model.js';
import { Cleanups, startDaemon, Subscriber, tempDir, until, writeConfig } from '../helpers/daemon.js';

/**
 * `{prefix}/{station}/status` is retained: a dashboard that connects at any time learns whether the
 * station is up. `online` when the daemon connects; `offline` as the last will when it dies without
 * a goodbye (SIGKILL, power cut, OOM kill) while the broker stays up.
 */
const STATUS = 'inspectd/st9/status';
const cleanups = new Cleanups();
afterAll(() => cleanups.run());

/** The first status message a fresh subscriber gets on connecting: the retained one. */
async function retainedStatus(url: string): Promise<{ payload: string; retain: boolean }> {
  const late = await Subscriber.connect(url, STATUS);
  try {
    await until('the retained status', () => late.statuses().length > 0, 5000);
    const { payload, retain } = late.statuses()[0]!;
    return { payload, retain };
  } finally {
    await late.close();
  }
}

describe('retained status and last will', () => {
  it('a subscriber that connects after start gets online, retained; after a SIGKILL every subscriber sees offline, retained', async () => {
    const broker = await TestBroker.start();
    cleanups.add(() => broker.stop());
    const watcher = await Subscriber.connect(broker.url, 'inspectd/st9/#');
    cleanups.add(() => watcher.close());
    const dir = tempDir('status');
    const cfg = writeConfig(dir, [
      'station: st9',
      'deadlineMs: 250',
      `model: { path: ${defaultModelJson} }`,
      // keepalive far beyond the test: the will must come from the broker seeing the socket close,
      // not from a missed ping.
      'mqtt: { keepaliveS: 600 }',
      'cameras: [{ name: cam1, source: { type: synthetic, fps: 10 } }]',
      'log: { level: warn, format: json }',
    ]);
    const daemon = startDaemon(cfg, ['--broker', broker.url, '--db', join(dir, 'v.db')]);
    cleanups.add(() => daemon.child.kill('SIGKILL'));
    await until('a verdict', () => watcher.verdicts().length > 0);

    expect(watcher.statuses().map((s) => s.payload)).toEqual(['online']);
    expect(await retainedStatus(broker.url)).toEqual({ payload: 'online', retain: true });

    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await until('the last will', () => watcher.statuses().length > 1, 5000);
    expect(watcher.statuses().map((s) => s.payload)).toEqual(['online', 'offline']);
    expect(await retainedStatus(broker.url)).toEqual({ payload: 'offline', retain: true });
  }, 60_000);
});
