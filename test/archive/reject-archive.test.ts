import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opencv } from '../../src/preprocess/opencv.js';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { DaemonProcess, VerdictSubscriber } from '../helpers/daemon.js';
import { cliPath, defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';

/** The reject archive as a quality engineer uses it: FAIL frames kept as images, linked from `inspectd verdicts`. */
let broker: TestBroker;
let sub: VerdictSubscriber;
let daemon: DaemonProcess;
let archiveDir: string;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((day) => readdirSync(join(dir, day)).map((f) => join(dir, day, f)));
}

beforeAll(async () => {
  broker = await TestBroker.start();
  sub = await VerdictSubscriber.connect(broker.url, 'inspectd/arch/verdict');
  daemon = DaemonProcess.start({
    station: 'arch',
    deadlineMs: 500,
    model: { path: defaultModelJson },
    mqtt: { url: broker.url },
    archive: { enabled: true },
    cameras: [{ name: 'cam1', source: { type: 'synthetic', fps: 10, seed: 21, defectRate: 0.5 } }],
  });
  archiveDir = join(daemon.dir, 'rejects');
  try {
    await sub.waitFor(40, 45_000);
  } finally {
    expect(await daemon.stop()).toBe(0);
  }
}, 60_000);

afterAll(async () => {
  await sub?.close();
  await broker?.stop();
});

describe('the reject-image archive', () => {
  it('keeps the frame of every FAIL as a JPEG of the camera`s size, and no PASS frames', () => {
    const files = filesUnder(archiveDir);
    const fails = sub.received.filter((r) => r.msg.verdict === 'FAIL');
    expect(fails.length).toBeGreaterThan(5);
    expect(files.some((f) => f.includes('-PASS.'))).toBe(false);
    for (const { msg } of fails) {
      const file = files.find((f) => f.endsWith(`/arch-${msg.seq}-cam1-FAIL.jpg`));
      expect(file, `seq ${msg.seq}`).toBeDefined();
      const img = opencv().imread(file!);
      expect([img.cols, img.rows]).toEqual([640, 512]);
    }
  });

  it('links each kept image from `inspectd verdicts`, and only those', () => {
    const out = execFileSync(process.execPath, [cliPath, 'verdicts', '--db', daemon.dbPath], { encoding: 'utf8' });
    const rows = out.trim().split('\n').map((l) => JSON.parse(l) as VerdictMessage & { image?: string });
    const withImage = rows.filter((r) => r.image);
    expect(withImage.length).toBe(rows.filter((r) => r.verdict === 'FAIL').length);
    for (const r of withImage) {
      expect(r.verdict).toBe('FAIL');
      expect(statSync(r.image!).size).toBeGreaterThan(1000);
    }
  });
});

describe('inspectd export', () => {
  it('writes the shift report and, with --images, the rejects` images and a labels.csv to relabel them', () => {
    const out = join(daemon.dir, 'export');
    execFileSync(process.execPath, [cliPath, 'export', '--db', daemon.dbPath, '--out', out, '--images', '--verdict', 'FAIL'], { encoding: 'utf8' });
    const fails = sub.received.filter((r) => r.msg.verdict === 'FAIL').length;
    const report = readFileSync(join(out, 'verdicts.csv'), 'utf8').trim().split('\n');
    expect(report[0]).toMatch(/^seq,station,camera,/);
    expect(report.slice(1).every((l) => l.includes(',FAIL,'))).toBe(true);
    expect(report.length - 1).toBeGreaterThanOrEqual(fails);
    const labels = readFileSync(join(out, 'labels.csv'), 'utf8').trim().split('\n');
    expect(labels[0]).toBe('file,verdict,seq,camera,label,review');
    expect(labels.length - 1).toBe(readdirSync(join(out, 'images')).length);
    expect(labels.length - 1).toBeGreaterThanOrEqual(fails);
    for (const l of labels.slice(1)) expect(existsSync(join(out, l.split(',')[0]!))).toBe(true);
    // A .csv target is the report alone.
    const file = join(daemon.dir, 'shift.csv');
    execFileSync(process.execPath, [cliPath, 'export', '--db', daemon.dbPath, '--out', file]);
    expect(readFileSync(file, 'utf8').trim().split('\n').length - 1).toBeGreaterThanOrEqual(sub.received.length);
  });
});

describe('the archive quota', () => {
  it('keeps the archive under its byte quota, oldest images out first', async () => {
    const broker2 = await TestBroker.start();
    const s2 = await VerdictSubscriber.connect(broker2.url, 'inspectd/quota/verdict');
    const d = DaemonProcess.start({
      station: 'quota',
      deadlineMs: 500,
      model: { path: defaultModelJson },
      mqtt: { url: broker2.url },
      archive: { enabled: true, maxMb: 0.25, verdicts: ['FAIL'], passSampleRate: 1 },
      cameras: [{ name: 'cam1', source: { type: 'synthetic', fps: 10, seed: 22 } }],
    });
    try {
      await s2.waitFor(40, 45_000);
    } finally {
      expect(await d.stop()).toBe(0);
      await s2.close();
      await broker2.stop();
    }
    const files = filesUnder(join(d.dir, 'rejects'));
    const total = files.reduce((n, f) => n + statSync(f).size, 0);
    expect(total).toBeLessThanOrEqual(0.25 * 2 ** 20);
    // passSampleRate 1: PASS frames kept too; the quota must have pushed out the first ones.
    const seqs = files.map((f) => Number(/quota-(\d+)-/.exec(f)![1])).sort((a, b) => a - b);
    expect(seqs.length).toBeGreaterThanOrEqual(2);
    expect(seqs[0]).toBeGreaterThan(1);
    expect(Math.max(...seqs)).toBeGreaterThanOrEqual(Math.max(...s2.received.map((r) => r.msg.seq)) - 8);
  }, 60_000);
});
