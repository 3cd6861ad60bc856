import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, VerdictSubscriber } from '../helpers/daemon.js';
import { defaultModelJson } from '../helpers/model.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { encode, goodPart, HEIGHT, sixteenBit, WIDTH, withAlpha, writeImplausibleFiles } from './capture-files.js';

/**
 * The daemon as a user runs it (child process, real mosquitto, the shipped model) on two folder
 * cameras: `replay` replays every kind of capture that cannot be a part and then a good part;
 * `convert` replays a 16-bit and a 4-channel good part with conversion configured.
 */
const GOOD_PART = 7;

let broker: TestBroker;
let sub: VerdictSubscriber;
let daemon: DaemonProcess;
let exitCode: number | null = null;
let replayed: Array<{ file: string; code: string }> = [];

beforeAll(async () => {
  broker = await TestBroker.start();
  const dir = mkdtempSync(join(tmpdir(), 'inspectd-plaus-it-'));
  const replayDir = join(dir, 'replay');
  const convertDir = join(dir, 'convert');
  mkdirSync(replayDir);
  mkdirSync(convertDir);
  replayed = writeImplausibleFiles(replayDir);
  writeFileSync(join(replayDir, '10-good-part.png'), encode('.png', goodPart(GOOD_PART)));
  writeFileSync(join(convertDir, '1-sixteen-bit.png'), encode('.png', sixteenBit(goodPart(GOOD_PART))));
  writeFileSync(join(convertDir, '2-alpha.png'), encode('.png', withAlpha(goodPart(GOOD_PART))));
  sub = await VerdictSubscriber.connect(broker.url, 'inspectd/plaus1/verdict');
  daemon = DaemonProcess.start(
    {
      station: 'plaus1',
      // Generous: this checks verdicts, not speed, on a shared 2-core machine.
      deadlineMs: 3000,
      model: { path: defaultModelJson },
      mqtt: { url: broker.url },
      log: { level: 'warn', format: 'json' },
      cameras: [
        { name: 'replay', source: { type: 'folder', fps: 10, path: replayDir }, plausibility: { width: WIDTH, height: HEIGHT, channels: 1 } },
        { name: 'convert', source: { type: 'folder', fps: 10, path: convertDir }, plausibility: { convert: true } },
      ],
    },
    {},
    dir,
  );
  await sub.waitFor(replayed.length + 1 + 2, 60_000).catch(() => undefined);
  exitCode = await daemon.stop();
}, 90_000);

afterAll(async () => {
  await daemon?.stop('SIGKILL');
  await sub?.close();
  await broker?.stop();
});

const of = (camera: string) =>
  sub.received
    .map((r) => r.msg)
    .filter((v) => v.camera === camera)
    .sort((a, b) => a.frameId - b.frameId);

describe('a folder camera replaying captures that cannot be parts', () => {
  it('gives each implausible file ERROR with its code, none PASS, and goes on to judge the good part', () => {
    const got = of('replay').map((v) => ({ frameId: v.frameId, verdict: v.verdict, code: v.error?.code ?? null }));
    const want = [
      ...replayed.map((r, frameId) => ({ frameId, verdict: 'ERROR', code: r.code })),
      { frameId: replayed.length, verdict: 'PASS', code: null },
    ];
    expect(got, `daemon stderr: ${daemon.stderr}`).toEqual(want);
    expect(replayed.map((r) => basename(r.file))).toContain('05-truncated.jpg');
  });

  it('judges 16-bit and 4-channel parts when conversion is configured', () => {
    expect(of('convert').map((v) => v.verdict)).toEqual(['PASS', 'PASS']);
  });

  it('exits 0 on SIGTERM', () => {
    expect(exitCode).toBe(0);
  });
});
