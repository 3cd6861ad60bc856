import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/decode/index.js';
import type { InferenceBackend } from '../../src/infer/backend.js';
import { OnnxRuntimeBackend } from '../../src/infer/onnxruntime/backend.js';
import { loadModelSpec, modelFile } from '../../src/model/spec.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { Scheduler, type VerdictSink } from '../../src/schedule/scheduler.js';
import { cameraInspection } from '../../src/inspect/camera.js';
import { wrapModel } from '../../src/inspect/model.js';
import type { Frame } from '../../src/source/frame.js';
import { renderPart } from '../../src/source/synthetic/render.js';
import type { Decision } from '../../src/verdict/types.js';
import { defaultModelJson } from '../helpers/model.js';
import { SlowBackend } from '../helpers/slow-backend.js';


interface Given {
  frame: Frame;
  decision: Decision;
  decidedAt: number;
  seq: number;
}

function recordingSink() {
  const given: Given[] = [];
  const late: Array<{ seq: number; decision: Decision }> = [];
  const sink: VerdictSink = {
    decided: (frame, decision, decidedAt) => {
      given.push({ frame, decision, decidedAt, seq: given.length + 1 });
      return given.length;
    },
    late: (seq, decision) => late.push({ seq, decision }),
  };
  return { sink, given, late };
}

function syntheticFrame(index: number): Frame {
  const cv = opencv();
  const part = renderPart({ width: 640, height: 512, channels: 1, defectRate: 0.5, seed: 11, index });
  const image = new cv.Mat(Buffer.from(part.pixels), part.height, part.width, cv.CV_8UC1);
  return { camera: 'cam1', frameId: index, capturedAt: Date.now(), partId: null, image, truth: part.truth };
}

const loaded = loadModelSpec(defaultModelJson);
const rules = { threshold: loaded.spec.thresholds.default, perClass: {}, minDefectAreaPx: 0, ignore: [] };
const log = pino({ level: 'silent' });
let backend: InferenceBackend;
/** cam1's inspection (the synthetic-line model with its own rules) over the real backend. */
const inspection = () => cameraInspection('cam1', wrapModel(loaded, [backend], createDecoder(loaded.spec)), rules);

beforeAll(async () => {
  backend = await OnnxRuntimeBackend.create({ file: modelFile(loaded).file, precision: 'int8', intraOpThreads: 1 });
});
afterAll(async () => {
  await backend?.close();
});

describe('deadline enforcement', () => {
  it('publishes TIMEOUT at the deadline when inference is slow, and still records the late result', async () => {
    const { sink, given, late } = recordingSink();
    const scheduler = new Scheduler([new SlowBackend(backend, 150)], sink, { maxQueue: 4 }, log);
    const frame = syntheticFrame(0);
    scheduler.submit(frame, 30, inspection());
    expect(await scheduler.settled(2000)).toBe(true);
    expect(given).toHaveLength(1);
    expect(given[0]!.decision.verdict).toBe('TIMEOUT');
    const lateness = given[0]!.decidedAt - (frame.capturedAt + 30);
    // Verdict at the deadline: not before it, and no later than timer jitter on a loaded CI box.
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThan(25);
    expect(late).toHaveLength(1);
    expect(late[0]!.seq).toBe(1);
    expect(['PASS', 'FAIL']).toContain(late[0]!.decision.verdict);
  });

  it('answers PASS/FAIL before the deadline when inference is fast enough', async () => {
    const { sink, given, late } = recordingSink();
    const scheduler = new Scheduler([backend], sink, { maxQueue: 4 }, log);
    const frame = syntheticFrame(1);
    scheduler.submit(frame, 2000, inspection());
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
    scheduler.submit(corrupt, 2000, inspection());
    scheduler.submit(wrongDepth, 2000, inspection());
    scheduler.submit(syntheticFrame(2), 2000, inspection());
    expect(await scheduler.settled(3000)).toBe(true);
    expect(given.map((g) => g.decision.verdict)).toEqual(['ERROR', 'ERROR', expect.stringMatching(/^(PASS|FAIL)$/)]);
    expect(given[0]!.decision.error?.code).toBe('INSPECTD_FRAME_INVALID');
    expect(given[1]!.decision.error?.message).toMatch(/8-bit/);
  });

  it('sheds frames that wait past their deadline instead of running them late, one verdict each', async () => {
    const { sink, given } = recordingSink();
    const scheduler = new Scheduler([new SlowBackend(backend, 100)], sink, { maxQueue: 2 }, log);
    const frames = [0, 1, 2, 3, 4, 5].map((i) => syntheticFrame(10 + i));
    for (const f of frames) scheduler.submit(f, 50, inspection());
    expect(await scheduler.settled(3000)).toBe(true);
    const byFrame = new Map<number, number>();
    for (const g of given) byFrame.set(g.frame.frameId, (byFrame.get(g.frame.frameId) ?? 0) + 1);
    expect([...byFrame.entries()].sort((a, b) => a[0] - b[0])).toEqual(frames.map((f) => [f.frameId, 1]));
    expect(given.filter((g) => g.decision.verdict === 'TIMEOUT').length).toBeGreaterThanOrEqual(5);
    expect(scheduler.stats.shed).toBeGreaterThanOrEqual(3);
  });

  it('under overload still answers the frames that can make their deadline, instead of letting every frame time out', async () => {
    const { sink, given } = recordingSink();
    // A run takes ~80 ms (60 ms added to the real model's); a frame every 30 ms is 2.7x what one worker can do.
    const scheduler = new Scheduler([new SlowBackend(backend, 60)], sink, { maxQueue: 8 }, log);
    for (let i = 0; i < 24; i++) {
      scheduler.submit(syntheticFrame(100 + i), 150, inspection());
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(await scheduler.settled(3000)).toBe(true);
    expect(given).toHaveLength(24);
    const answered = given.filter((g) => g.decision.verdict === 'PASS' || g.decision.verdict === 'FAIL');
    // About a third can be served; plain FIFO serves two or three before its queue makes every frame late.
    expect(answered.length).toBeGreaterThanOrEqual(6);
    for (const g of answered) expect(g.decidedAt).toBeLessThanOrEqual(g.frame.capturedAt + 150);
  });
});
