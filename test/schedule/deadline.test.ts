import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InferenceBackend } from '../../src/infer/backend.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { Scheduler } from '../../src/schedule/scheduler.js';
import type { Frame } from '../../src/source/frame.js';
import { createBackend, inspection, recordingSink, silentLog as log, syntheticFrame, warmParts } from '../helpers/scheduler.js';
import { SlowBackend } from '../helpers/slow-backend.js';

let backend: InferenceBackend;

beforeAll(async () => {
  backend = await createBackend();
  warmParts();
});
afterAll(async () => {
  await backend?.close();
});

describe('deadline enforcement', () => {
  it('publishes TIMEOUT at the deadline when inference is slow, and keeps the late result: the answer the frame gets in time', async () => {
    const { sink, given, late } = recordingSink();
    const scheduler = new Scheduler([new SlowBackend(backend, 150)], sink, { maxQueue: 4 }, log);
    const frame = syntheticFrame(0);
    scheduler.submit(frame, 30, inspection([backend]));
    expect(await scheduler.settled(2000)).toBe(true);
    expect(given).toHaveLength(1);
    expect(given[0]!.decision.verdict).toBe('TIMEOUT');
    const lateness = given[0]!.decidedAt - (frame.capturedAt + 30);
    // Verdict at the deadline: not before it, and no later than timer jitter on a loaded CI box.
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThan(25);
    // The late result belongs to the TIMEOUT's seq, comes after it, and is what the model says of
    // this part when it is in time (same part, fast backend, generous deadline).
    expect(late).toHaveLength(1);
    expect(late[0]!.seq).toBe(given[0]!.seq);
    expect(late[0]!.decidedAt).toBeGreaterThanOrEqual(frame.capturedAt + 150);
    const inTime = recordingSink();
    const fast = new Scheduler([backend], inTime.sink, { maxQueue: 4 }, log);
    fast.submit(syntheticFrame(0), 2000, inspection([backend]));
    expect(await fast.settled(3000)).toBe(true);
    expect(['PASS', 'FAIL']).toContain(inTime.given[0]!.decision.verdict);
    expect(late[0]!.decision).toEqual(inTime.given[0]!.decision);
  });

  it('answers PASS/FAIL before the deadline when inference is fast enough', async () => {
    const { sink, given, late } = recordingSink();
    const scheduler = new Scheduler([backend], sink, { maxQueue: 4 }, log);
    const frame = syntheticFrame(1);
    scheduler.submit(frame, 2000, inspection([backend]));
    expect(await scheduler.settled(3000)).toBe(true);
    expect(given.map((g) => g.decision.verdict)).toEqual([expect.stringMatching(/^(PASS|FAIL)$/)]);
    expect(given[0]!.decidedAt).toBeLessThan(frame.capturedAt + 2000);
    expect(late).toHaveLength(0);
  });

  it('gives a corrupt frame ERROR and goes on with the next frame', async () => {
    const cv = opencv();
    const { sink, given } = recordingSink();
    const scheduler = new Scheduler([backend], sink, { maxQueue: 4 }, log);
    const corrupt: Frame = { camera: 'cam1', frameId: 0, capturedAt: Date.now(), partId: null, image: new cv.Mat() };
    const wrongDepth: Frame = { camera: 'cam1', frameId: 1, capturedAt: Date.now(), partId: null, image: new cv.Mat(64, 64, cv.CV_32FC1) };
    scheduler.submit(corrupt, 2000, inspection([backend]));
    scheduler.submit(wrongDepth, 2000, inspection([backend]));
    scheduler.submit(syntheticFrame(2), 2000, inspection([backend]));
    expect(await scheduler.settled(3000)).toBe(true);
    expect(given.map((g) => g.decision.verdict)).toEqual(['ERROR', 'ERROR', expect.stringMatching(/^(PASS|FAIL)$/)]);
    expect(given[0]!.decision.error?.code).toBe('INSPECTD_FRAME_INVALID');
    expect(given[1]!.decision.error?.message).toMatch(/8-bit/);
  });
});
