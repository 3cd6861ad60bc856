import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPart } from '../../src/source/synthetic/render.js';
import { TestBroker } from '../helpers/mosquitto.js';
import { defaultModelJson } from '../helpers/model.js';
import { Cleanups, dbRows, sleep, startDaemon, Subscriber, tempDir, until, writeConfig, type DaemonProcess, type VerdictRow } from '../helpers/daemon.js';

/**
 * A deadline shorter than one inference (4 ms; the model takes ~8–17 ms here) makes every frame
 * TIMEOUT while its inference is still running. The model's answer, when it comes, is kept in the
 * same row (`late_*` columns) and is never a second row or a second MQTT message.
 */
const DEADLINE_MS = 4;
const FRAMES = 30;
const SEED = 9;
const DEFECT_RATE = 0.3;

const cleanups = new Cleanups();
let daemon: DaemonProcess;
let sub: Subscriber;
let rows: VerdictRow[];
let exitCode: number | null;

beforeAll(async () => {
  const broker = await TestBroker.start();
  cleanups.add(() => broker.stop());
  sub = await Subscriber.connect(broker.url, 'inspectd/late1/verdict');
  cleanups.add(() => sub.close());
  const dir = tempDir('late');
  const db = join(dir, 'v.db');
  const cfg = writeConfig(dir, [
    'station: late1',
    `deadlineMs: ${DEADLINE_MS}`,
    `model: { path: ${defaultModelJson} }`,
    'cameras:',
    `  - { name: cam1, source: { type: synthetic, fps: 10, seed: ${SEED}, defectRate: ${DEFECT_RATE} } }`,
    'log: { level: warn, format: json }',
  ]);
  daemon = startDaemon(cfg, ['--broker', broker.url, '--db', db]);
  cleanups.add(() => daemon.child.kill('SIGKILL'));
  await until(`${FRAMES} verdicts`, () => sub.verdicts().length >= FRAMES, 60_000);
  // A clean stop waits for running inferences, so every late result that can come is in the log.
  daemon.child.kill('SIGTERM');
  exitCode = await daemon.exited;
  // A second message for a frame, if the daemon sent one, would arrive within this.
  await sleep(500);
  rows = dbRows(db);
}, 90_000);

afterAll(() => cleanups.run());

describe('a result that comes after its TIMEOUT', () => {
  it('gives every frame TIMEOUT, and stops cleanly', () => {
    expect(exitCode).toBe(0);
    expect(rows.length).toBeGreaterThanOrEqual(FRAMES);
    expect(rows.filter((r) => r.verdict !== 'TIMEOUT')).toEqual([]);
  });

  it('is kept in the late_* columns of the TIMEOUT row: the model answer, after the deadline', () => {
    const late = rows.filter((r) => r.late_verdict !== null);
    // A frame that is already past its deadline when preprocessing ends is never run, so no late
    // result; on a quiet machine that is none of them, on a loaded one a few.
    expect(late.length).toBeGreaterThanOrEqual(rows.length * 0.7);
    for (const r of late) {
      expect(['PASS', 'FAIL'], `seq ${r.seq}`).toContain(r.late_verdict);
      expect(r.late_score).toBeGreaterThanOrEqual(0);
      expect(r.late_score).toBeLessThanOrEqual(1);
      expect(Array.isArray(JSON.parse(r.late_defects!))).toBe(true);
      expect(r.decided_at).toBeGreaterThanOrEqual(r.captured_at + DEADLINE_MS);
      expect(r.late_decided_at!).toBeGreaterThanOrEqual(r.decided_at);
    }
    // The late verdicts are the model's real answers: they agree with the synthetic ground truth.
    const agree = late.filter((r) => {
      const truth = renderPart({ width: 640, height: 512, channels: 1, defectRate: DEFECT_RATE, seed: SEED, index: r.frame_id }).truth;
      return (r.late_verdict === 'FAIL') === truth.defective;
    });
    expect(agree.length / late.length).toBeGreaterThanOrEqual(0.9);
  });

  it('is never a second row: one row per frame, seq without gaps', () => {
    const frameIds = rows.map((r) => r.frame_id).sort((a, b) => a - b);
    expect(frameIds).toEqual(frameIds.map((_, i) => i));
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
  });

  it('is never a second MQTT message: one TIMEOUT per frame, nothing else', () => {
    const got = sub.verdicts();
    expect(got.map((v) => v.verdict).filter((v) => v !== 'TIMEOUT')).toEqual([]);
    expect(got.map((v) => v.seq)).toEqual(rows.map((r) => r.seq));
    expect(got.map((v) => v.frameId)).toEqual(rows.map((r) => r.frame_id));
    // The payload is the TIMEOUT as decided: no late fields leak into it.
    expect(got.every((v) => v.score === null && !('late' in v) && !('lateVerdict' in v))).toBe(true);
  });
});
