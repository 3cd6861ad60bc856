import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchSubscriber } from '../../src/bench/subscriber.js';
import { TestBroker } from '../helpers/mosquitto.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await TestBroker.start();
});
afterAll(async () => {
  await broker?.stop();
});

describe("the bench's subscriber", () => {
  it('hands over every verdict it counted, also a report larger than the IPC pipe holds (5,000 verdicts, ~600 KB)', async () => {
    const topic = 'inspectd/bench/verdict';
    const sub = BenchSubscriber.start(broker.url, topic);
    const pub = await mqtt.connectAsync(broker.url);
    try {
      while (!sub.subscribed) await new Promise((r) => setTimeout(r, 50));
      sub.count(true);
      const n = 5000;
      const capturedAt = Date.now();
      for (let seq = 1; seq <= n; seq++) {
        // One at a time: the broker's queue for a QoS 1 subscriber holds 1,000 by default.
        await pub.publishAsync(topic, JSON.stringify({ seq, camera: 'cam1', verdict: 'PASS', capturedAt, deadlineMs: 30 }), { qos: 1 });
      }
      const by = Date.now() + 20_000;
      while (sub.received < n && Date.now() < by) await new Promise((r) => setTimeout(r, 100));
      expect(sub.received).toBe(n);
      sub.count(false);
      const got = await sub.finish();
      expect(got.length).toBe(n);
      expect(new Set(got.map((v) => v.seq)).size).toBe(n);
    } finally {
      await pub.endAsync();
      sub.kill();
    }
  }, 60_000);
});
