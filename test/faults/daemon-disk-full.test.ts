import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbRows, Subscriber, until } from '../helpers/daemon.js';
import { fill, mountTmpfs } from '../helpers/disk.js';
import { defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { DaemonProcess, writeConfig } from '../ops/helpers.js';

/**
 * A full disk under `inspectd run`, end to end: the daemon as a child process with its log on an
 * 8 MiB tmpfs, a real mosquitto and a persistent subscriber (the PLC). Filled while the line runs:
 * the PLC still gets every verdict, the retained `storage` status and the log say the fault; space
 * given back: the status says ok again and every verdict the PLC got is in the log, once. Then filled
 * again and stopped while full: the stop exits 74 (not everything written) instead of 0.
 */
const STATION = 'full1';
const mnt = mkdtempSync(join(tmpdir(), 'inspectd-dfull-'));
const work = mkdtempSync(join(tmpdir(), 'inspectd-dfull-cfg-'));
const db = join(mnt, 'verdicts.db');
const filler = join(mnt, 'filler');
let mounted = false;
let broker: TestBroker;
let plc: Subscriber;
let daemon: DaemonProcess | undefined;
const life: Record<string, unknown> = {};

type StorageStatus = { ok: boolean; code?: string | null };
const storage = () => plc.messages.filter((m) => m.topic === `inspectd/${STATION}/storage`).map((m) => JSON.parse(m.payload) as StorageStatus);
const config = () =>
  [
    `station: ${STATION}`,
    'deadlineMs: 500',
    'model:',
    `  path: ${defaultModelJson}`,
    'mqtt:',
    `  url: ${broker.url}`,
    '  clientId: full1-daemon',
    'http:',
    '  enabled: false',
    'archive:',
    '  enabled: false',
    'shutdown:',
    '  drainMs: 3000',
    'cameras:',
    '  - name: cam1',
    '    partId: frame',
    '    source:',
    '      type: synthetic',
    '      fps: 20',
    '      seed: 9',
    'storage:',
    `  path: ${db}`,
    'log:',
    '  level: info',
    '  format: json',
    '',
  ].join('\n');

beforeAll(async () => {
  try {
    await scenario();
  } catch (err) {
    // What the daemon said last, for a failure that is not obvious from the wait that timed out.
    console.log(JSON.stringify({ exitCode: daemon?.child.exitCode, logs: daemon?.logs.slice(-12).map((l) => ({ msg: l.msg, event: l.event, err: l.err })), stderr: daemon?.stderr.slice(-2000), storage: storage().slice(-4), verdicts: plc.verdicts().length }));
    throw err;
  }
}, 600_000);

async function scenario(): Promise<void> {
  mountTmpfs(mnt, 8);
  mounted = true;
  broker = await TestBroker.start();
  plc = await Subscriber.connect(broker.url, `inspectd/${STATION}/#`, { persistent: true });
  daemon = DaemonProcess.start(writeConfig(work, config()));
  await until('20 verdicts', () => plc.verdicts().length >= 20, 90_000);

  // The disk fills while the line runs.
  fill(filler);
  await until('the storage fault on MQTT', () => storage().some((s) => !s.ok), 90_000);
  const atFault = plc.verdicts().length;
  await until('40 verdicts more with the disk full', () => plc.verdicts().length >= atFault + 40, 90_000);
  life.duringFault = plc.verdicts().length - atFault;
  life.faultLogged = daemon.logs.some((l) => l.event === 'storage.state' && (l.storage as StorageStatus).ok === false);

  // Space back: the daemon recovers by itself.
  const freedAt = Date.now();
  rmSync(filler);
  await until('storage ok again on MQTT', () => storage().at(-1)?.ok === true && storage().some((s) => !s.ok), 90_000);
  life.recoveryMs = Date.now() - freedAt;
  const atRecovery = plc.verdicts().length;
  await until('20 verdicts after recovery', () => plc.verdicts().length >= atRecovery + 20, 90_000);
  life.exitAfterRecovery = await daemon.stop();
  life.rows = dbRows(db).map((r) => r.seq);
  life.received = plc.verdicts().map((v) => v.seq);

  // Filled again, then stopped while full: exit 74, the verdicts the PLC got nonetheless.
  const before = plc.verdicts().length;
  daemon = DaemonProcess.start(writeConfig(work, config()));
  await until('10 verdicts of the second run', () => plc.verdicts().length >= before + 10, 90_000);
  fill(filler);
  await until('the second storage fault', () => storage().at(-1)?.ok === false, 90_000);
  const atSecond = plc.verdicts().length;
  await until('10 verdicts on the full disk', () => plc.verdicts().length >= atSecond + 10, 90_000);
  life.exitWhileFull = await daemon.stop();
  life.unwrittenLogged = daemon.logs.find((l) => l.event === 'storage.unwritten');
}

afterAll(async () => {
  daemon?.kill();
  await daemon?.exited;
  await plc?.close();
  await broker?.stop();
  if (mounted) execFileSync('umount', [mnt]);
  rmSync(mnt, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('inspectd run with its log on a disk that fills', () => {
  it('keeps sending every verdict to the PLC while the disk is full, and says so on the retained storage topic and in its log', () => {
    expect(life.duringFault as number).toBeGreaterThanOrEqual(40);
    expect(life.faultLogged).toBe(true);
    const states = storage();
    expect(states.find((s) => !s.ok)!.code).toMatch(/^INSPECTD_/);
  });

  it('recovers by itself when space returns: every verdict the PLC got is in the log once, seqs without a gap, clean stop 0', () => {
    expect(life.exitAfterRecovery).toBe(0);
    const rows = life.rows as number[];
    expect(new Set(rows).size).toBe(rows.length);
    const received = new Set(life.received as number[]);
    for (const seq of received) expect(rows, `seq ${seq} in the log`).toContain(seq);
    for (let i = 1; i < rows.length; i++) expect(rows[i]! - rows[i - 1]!, `gap after seq ${rows[i - 1]}`).toBe(1);
  });

  it('exits 74 on a stop that could not write every verdict, and logs how many', () => {
    expect(life.exitWhileFull).toBe(74);
    expect(life.unwrittenLogged).toBeDefined();
    expect((life.unwrittenLogged as { unwritten: number }).unwritten).toBeGreaterThan(0);
    const rows = life.rows as number[];
    console.log(JSON.stringify({ daemonDiskFullFigures: { verdictsToPlcWhileFull: life.duringFault, recoveryMs: life.recoveryMs, logged: rows.length, receivedByPlc: new Set(life.received as number[]).size, exitAfterRecovery: life.exitAfterRecovery, exitWhileFull: life.exitWhileFull, unwrittenAtStop: (life.unwrittenLogged as { unwritten: number }).unwritten } }));
  });
});
