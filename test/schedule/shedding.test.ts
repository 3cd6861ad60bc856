import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InferenceBackend } from '../../src/infer/backend.js';
import { Scheduler } from '../../src/schedule/scheduler.js';
import { createBackend, recordingSink, silentLog as log, syntheticFrame, trackedInspection, warmParts } from '../helpers/scheduler.js';
import { SlowBackend } from '../helpers/slow-backend.js';

/**
 * What the scheduler does with frames it cannot serve: the real model on ONNX Runtime, made slow,
 * with every backend run counted and traced to its frame.
 */
let backend: InferenceBackend;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  backend = await createBackend();
  warmParts();
});
afterAll(async () => {
  await backend?.close();
});

const isAnswer = (v: string) => v === 'PASS' || v === 'FAIL';

describe('shedding', () => {
  it('sheds the oldest waiting frame as TIMEOUT at once when the queue is full; it never runs, and has no late result', async () => {
    const { sink, given, late } = recordingSink();
    const { inspection, ran } = trackedInspection([backend]);
    const slow = new SlowBackend(backend, 200);
    const scheduler = new Scheduler([slow], sink, { maxQueue: 2 }, log);
    // Frame 0 runs; 1 and 2 wait; 3 overfills the queue (1 is shed), 4 again (2 is shed).
    const frames = [0, 1, 2, 3, 4].map((i) => syntheticFrame(i));
    for (const f of frames) scheduler.submit(f, 5000, inspection);
    // Preprocessing returns asynchronously; frame 0's run takes 200 ms more than that.
    const end = Date.now() + 150;
    while (given.length < 2 && Date.now() < end) await sleep(5);
    const shedNow = given.map((g) => [g.frame.frameId, g.decision.verdict]);
    expect(shedNow).toEqual([
      [1, 'TIMEOUT'],
      [2, 'TIMEOUT'],
    ]);
    // At once, not at the deadline 5 s away.
    for (const g of given) expect(g.decidedAt - g.frame.capturedAt).toBeLessThan(100);
    expect(await scheduler.settled(5000)).toBe(true);
    // The others are answered in order; the shed ones never reach the backend.
    expect(ran).toEqual([0, 3, 4]);
    expect(slow.runs).toBe(3);
    expect(given.map((g) => g.frame.frameId)).toEqual([1, 2, 0, 3, 4]);
    expect(given.slice(2).every((g) => isAnswer(g.decision.verdict))).toBe(true);
    expect(late).toEqual([]);
  });

  it('never runs a frame whose deadline passed while it waited: TIMEOUT at its deadline, no late result', async () => {
    const { sink, given, late } = recordingSink();
    const { inspection, ran } = trackedInspection([backend]);
    const slow = new SlowBackend(backend, 200);
    const scheduler = new Scheduler([slow], sink, { maxQueue: 4 }, log);
    const running = syntheticFrame(10);
    const waiting = syntheticFrame(11);
    scheduler.submit(running, 5000, inspection);
    scheduler.submit(waiting, 60, inspection);
    expect(await scheduler.settled(5000)).toBe(true);
    // A frame after the backend is free again runs: the one that waited past its deadline did not.
    scheduler.submit(syntheticFrame(12), 5000, inspection);
    expect(await scheduler.settled(5000)).toBe(true);
    expect(ran).toEqual([10, 12]);
    expect(slow.runs).toBe(2);
    const w = given.find((g) => g.frame.frameId === 11)!;
    expect(w.decision.verdict).toBe('TIMEOUT');
    const lateness = w.decidedAt - (waiting.capturedAt + 60);
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThan(25);
    expect(given.filter((g) => g.frame.frameId !== 11).map((g) => isAnswer(g.decision.verdict))).toEqual([true, true]);
    expect(late).toEqual([]);
  });

  it('under 3x overload answers every frame exactly once, holds a bounded number of frames, and answers those it can in time', async () => {
    const { sink, given, late } = recordingSink();
    const { inspection, ran } = trackedInspection([backend]);
    // ~60 ms a run (the real model's ~10–17 ms plus 45), a frame every 20 ms: three times what one worker can do.
    const slow = new SlowBackend(backend, 45);
    const maxQueue = 4;
    const deadlineMs = 150;
    const periodMs = 20;
    const frames = 150;
    const scheduler = new Scheduler([slow], sink, { maxQueue }, log);
    let held = 0;
    for (let i = 0; i < frames; i++) {
      scheduler.submit(syntheticFrame(100 + i), deadlineMs, inspection);
      held = Math.max(held, scheduler.pending);
      await sleep(periodMs);
    }
    expect(await scheduler.settled(3000)).toBe(true);

    // Exactly one verdict per frame.
    const perFrame = new Map<number, number>();
    for (const g of given) perFrame.set(g.frame.frameId, (perFrame.get(g.frame.frameId) ?? 0) + 1);
    expect(given).toHaveLength(frames);
    expect([...perFrame.values()].every((n) => n === 1)).toBe(true);
    // Bounded: a frame is let go at its deadline at the latest, so what is held never exceeds the
    // frames of one deadline window plus the running one (and a timer's jitter); an unbounded FIFO
    // would hold ~2/3 of all frames by the end.
    expect(held).toBeLessThanOrEqual(Math.ceil(deadlineMs / periodMs) + 2);
    // In time or TIMEOUT at the deadline, never a PASS/FAIL after it.
    const answered = given.filter((g) => isAnswer(g.decision.verdict));
    for (const g of answered) expect(g.decidedAt).toBeLessThanOrEqual(g.frame.capturedAt + deadlineMs);
    for (const g of given.filter((x) => x.decision.verdict === 'TIMEOUT')) expect(g.decidedAt - g.frame.capturedAt).toBeLessThan(deadlineMs + 25);
    // About a third can be served; plain FIFO serves a few before its queue makes every frame late.
    expect(answered.length).toBeGreaterThanOrEqual(frames / 6);
    // Every run is accounted for: its answer was the verdict, or it is kept as the late result.
    expect(slow.runs).toBe(ran.length);
    expect(ran.length).toBe(answered.length + late.length);
    expect(ran.length).toBeLessThan(frames / 2);
  }, 30_000);
});
