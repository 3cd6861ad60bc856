import { describe, expect, it } from 'vitest';
import { VerdictRecorder } from '../../src/record/recorder.js';
import { toMessage, VerdictStore, type StoreWrite } from '../../src/record/store.js';
import { holdWriteLock, readRows, tmpDb, verdict, waitFor } from '../helpers/verdict-log.js';

/** Each durable output's own cursor in the log (issue 7): one output's backlog never moves another's. */
async function open(path: string, outputs: string[], extra: Partial<Parameters<typeof VerdictRecorder.open>[0]> = {}) {
  const delivered: Record<string, number[]> = {};
  const rec = await VerdictRecorder.open(
    { path, synchronous: 'FULL', station: 'st1', outputs, ...extra },
    {
      committed: (_v, d) => {
        for (const [o, seqs] of Object.entries(d)) (delivered[o] ??= []).push(...seqs);
      },
    },
  );
  return { rec, delivered };
}

describe('per-output delivery cursors', () => {
  it('owes each verdict to each enabled output, and one output marking it delivered leaves it owed to the other', async () => {
    const path = tmpDb('inspectd-cursors-');
    const { rec, delivered } = await open(path, ['mqtt', 'sparkplug']);
    for (let i = 0; i < 6; i++) rec.record(verdict(i));
    expect(await rec.sync()).toBe(true);
    const mqtt = rec.outbox('mqtt');
    const spb = rec.outbox('sparkplug');
    mqtt.markPublished([1, 2, 3, 4, 5, 6], 100);
    spb.markPublished([2, 4], 200);
    expect(await rec.sync()).toBe(true);
    expect(delivered).toEqual({ mqtt: [1, 2, 3, 4, 5, 6], sparkplug: [2, 4] });
    expect(mqtt.countUnpublished()).toBe(0);
    expect(mqtt.unpublished(0, 10)).toEqual([]);
    expect(spb.countUnpublished()).toBe(4);
    expect(spb.unpublished(0, 10).map((m) => m.seq)).toEqual([1, 3, 5, 6]);
    expect(spb.unpublished(3, 1).map((m) => m.seq)).toEqual([5]);
    expect(await rec.close()).toEqual({ unwritten: 0, unwrittenMarks: 0 });

    // The next life reads each backlog back on its own; published_at is the MQTT output's mark only.
    const again = await open(path, ['mqtt', 'sparkplug']);
    expect(again.rec.outbox('sparkplug').unpublished(0, 10).map((m) => m.seq)).toEqual([1, 3, 5, 6]);
    expect(again.rec.outbox('mqtt').countUnpublished()).toBe(0);
    await again.rec.close();
    expect(readRows(path).every((r) => r.published_at === 100)).toBe(true);
  });

  it('folds an output\'s mark into an insert still waiting behind a lock, for that output only', async () => {
    const path = tmpDb('inspectd-cursors-');
    const { rec, delivered } = await open(path, ['mqtt', 'sparkplug'], { busyTimeoutMs: 100, retryMinMs: 20, retryMaxMs: 100 });
    const lock = await holdWriteLock(path);
    try {
      for (let i = 0; i < 3; i++) rec.record(verdict(i));
      rec.outbox('sparkplug').markPublished([1, 2, 3], 7);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await lock.release();
    }
    await waitFor('the commit after the lock', () => (delivered.sparkplug ?? []).length === 3);
    expect(rec.outbox('sparkplug').countUnpublished()).toBe(0);
    expect(rec.outbox('mqtt').unpublished(0, 10).map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(delivered.mqtt).toBeUndefined();
    await rec.close();
    expect(readRows(path).map((r) => r.published_at)).toEqual([null, null, null]);
  });

  it('retention keeps a verdict any enabled output still owes, and ignores the backlog of an output no longer enabled', () => {
    const path = tmpDb('inspectd-cursors-');
    const both = new VerdictStore({ path, synchronous: 'NORMAL', outputs: ['mqtt', 'sparkplug'] });
    const writes: StoreWrite[] = [];
    // Seqs 1-100, all old; MQTT delivered all but 10, Sparkplug all but 20 and 30..39.
    for (let i = 0; i < 100; i++) {
      const seq = i + 1;
      const delivered: Record<string, number> = {};
      if (seq !== 10) delivered.mqtt = 5;
      if (seq !== 20 && (seq < 30 || seq > 39)) delivered.sparkplug = 5;
      writes.push({ op: 'verdict', msg: toMessage(verdict(i), seq), delivered });
    }
    both.apply(writes);
    while (both.retentionStep({ cutoffMs: 1e12, maxBytes: 0, stepRows: 7 }) > 0);
    expect(both.list({}).map((r) => r.seq)).toEqual([10, 20, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39]);
    both.close();

    // Sparkplug switched off: its backlog no longer holds retention back, and goes with its verdicts.
    const mqttOnly = new VerdictStore({ path, synchronous: 'NORMAL', outputs: ['mqtt'] });
    while (mqttOnly.retentionStep({ cutoffMs: 1e12, maxBytes: 0, stepRows: 7 }) > 0);
    expect(mqttOnly.list({}).map((r) => r.seq)).toEqual([10]);
    expect(mqttOnly.countUnpublished('st1', 'sparkplug')).toBe(0);
    expect(mqttOnly.countUnpublished('st1', 'mqtt')).toBe(1);
    mqttOnly.close();
  });
});
