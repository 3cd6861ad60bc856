/**
 * The bench's OPC UA client in a process of its own (forked by `BenchOpcuaClient` under SCHED_IDLE):
 * on a plant the SCADA or PLC that subscribes is another machine, so its decoding must not take the
 * daemon's cores. In the bench process it took 2.7-6.9% of a core on the two the daemon runs on
 * (bench/RESULTS.md, "OPC UA: values set only when they change").
 */
import { threadScheduling } from '../ops/thread-priority.js';
import type { FromOpcuaClient, ToOpcuaClient } from './opcua-client-protocol.js';
import { BenchOpcuaSubscriber } from './opcua-subscriber.js';

const [url, pkiDir, station, cameras] = process.argv.slice(2);
if (!url || !pkiDir || !station || !cameras || !process.send) throw new Error('usage: forked with <opc.tcp url> <pki dir> <station> <camera,camera...>');
const send = (m: FromOpcuaClient) => process.send!(m);

/** The policy and nice the kernel holds for this process (its main thread, whose tid is the pid), not the ones asked for. */
const placement = (): string => threadScheduling(String(process.pid));

let sub: BenchOpcuaSubscriber | undefined;
let cpu0 = process.cpuUsage();
let cpuMs = 0;

process.on('message', (m: ToOpcuaClient) => {
  if (!sub) return;
  if (m.type === 'count') {
    sub.counting = m.on;
    if (m.on) cpu0 = process.cpuUsage();
    else {
      const d = process.cpuUsage(cpu0);
      cpuMs = (d.user + d.system) / 1000;
    }
  } else {
    const s = sub;
    // Disconnect only once the report is written (as subscriber-process.ts: closing the channel cancels a pending write).
    process.send!({ type: 'report', seqs: [...s.seqs], jsonNotifications: s.jsonNotifications, cpuMs, lateMs: s.lateMs, placement: placement() } satisfies FromOpcuaClient, undefined, undefined, () => {
      void s.close().finally(() => process.disconnect());
    });
  }
});
process.on('disconnect', () => void sub?.close().finally(() => process.exit(0)));

BenchOpcuaSubscriber.open(url, pkiDir, station, cameras.split(',')).then(
  (s) => {
    sub = s;
    send({ type: 'subscribed' });
  },
  (e: unknown) => send({ type: 'failed', message: e instanceof Error ? e.message : String(e) }),
);
