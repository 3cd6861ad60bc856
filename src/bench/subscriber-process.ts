/**
 * The bench's MQTT subscriber, in a process of its own (forked by `BenchSubscriber`). It stands
 * where the PLC is, so it must not carry the bench's own weight: in the bench process, beside the
 * ONNX Runtime session and OpenCV of the raw measurement, V8 ran an 18 ms major GC in the middle of
 * the e2e run, and the two TIMEOUTs of that run were received 12 ms after their deadline although
 * the daemon put them on the wire 1 ms after it (traced on the loopback with tshark). Here the heap
 * is a few MB and a collection takes well under a millisecond.
 */
import mqtt from 'mqtt';
import type { Socket } from 'node:net';
import type { FromSubscriber, ReceivedVerdict, ToSubscriber } from './subscriber-protocol.js';

const [url, topic] = process.argv.slice(2);
if (!url || !topic || !process.send) throw new Error('usage: forked with <broker url> <topic>');
const send = (m: FromSubscriber) => process.send!(m);

const received: ReceivedVerdict[] = [];
let counting = false;
let timeouts = 0;

const client = mqtt.connect(url, { reconnectPeriod: 100, connectTimeout: 5000 });
client.on('connect', () => {
  // Its PUBACKs go out at once, not behind Nagle's wait for the previous segment's ACK.
  (client.stream as Socket).setNoDelay?.(true);
  client.subscribe(topic, { qos: 1 }, (err) => {
    if (!err) send({ type: 'subscribed' });
  });
});
client.on('message', (_topic, payload) => {
  const at = Date.now();
  if (!counting) return;
  // Only the fields the figures need: the rest of the payload is never kept.
  const m = JSON.parse(payload.toString()) as Omit<ReceivedVerdict, 'at'>;
  received.push({ at, seq: m.seq, camera: m.camera, verdict: m.verdict, capturedAt: m.capturedAt, deadlineMs: m.deadlineMs });
  if (m.verdict === 'TIMEOUT') timeouts++;
});

const progress = setInterval(() => send({ type: 'progress', received: received.length, timeouts }), 1000);

process.on('message', (m: ToSubscriber) => {
  if (m.type === 'count') counting = m.on;
  else if (m.type === 'report') {
    clearInterval(progress);
    // Disconnect only once the report is written: closing the channel cancels a write still pending,
    // and a report of ~2,000 verdicts (a 20 s run at 100 fps) outgrows the pipe's buffer, so the bench
    // saw no report ("bench subscriber did not report", 2 runs of 9 at 100 fps).
    process.send!({ type: 'report', received } satisfies FromSubscriber, undefined, undefined, () => client.end(true, () => process.disconnect()));
  }
});
process.on('disconnect', () => {
  clearInterval(progress);
  client.end(true);
});
