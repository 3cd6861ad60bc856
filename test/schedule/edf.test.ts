import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/decode/index.js';
import { cameraInspection, type CameraInspection } from '../../src/inspect/camera.js';
import { wrapModel } from '../../src/inspect/model.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { Scheduler, type VerdictSink } from '../../src/schedule/scheduler.js';
import type { Frame } from '../../src/source/frame.js';
import { renderPart } from '../../src/source/synthetic/render.js';
import type { Decision } from '../../src/verdict/types.js';
import { defaultModelBackend } from '../helpers/default-backend.js';
import { SlowBackend } from '../helpers/slow-backend.js';


const { loaded, rules, backend: defaultBackend } = defaultModelBackend();

function frame(camera: string, frameId: number): Frame {
  const cv = opencv();
  const part = renderPart({ width: 320, height: 256, channels: 1, defectRate: 0.3, seed: 2, index: frameId });
  return { camera, frameId, capturedAt: Date.now(), partId: null, image: new cv.Mat(Buffer.from(part.pixels), part.height, part.width, cv.CV_8UC1) };
}

interface Given {
  camera: string;
  frameId: number;
  verdict: Decision['verdict'];
}

describe('cameras sharing one model pool', () => {
  it('a 60 fps camera three times past the pool cannot starve a 5 fps one; every frame answered exactly once', async () => {
    const slow = new SlowBackend(defaultBackend(), 50);
    const given: Given[] = [];
    const sink: VerdictSink = {
      decided: (f, d) => {
        given.push({ camera: f.camera, frameId: f.frameId, verdict: d.verdict });
        return given.length;
      },
      late: () => {},
    };
    const scheduler = new Scheduler([slow], sink, { maxQueue: 2 }, pino({ level: 'silent' }));
    const model = wrapModel(loaded, [slow], createDecoder(loaded.spec));
    const fast: CameraInspection = cameraInspection('fast', model, rules);
    const slowCam: CameraInspection = cameraInspection('slow', model, rules);
    // What the scheduler holds (frames accepted and not yet answered), sampled through the run.
    let mostHeld = 0;
    const holdTimer = setInterval(() => (mostHeld = Math.max(mostHeld, scheduler.pending)), 5);
    // 4 s of line: 240 frames at 60 fps, 20 at 5 fps, each due 120 ms after capture.
    let fastId = 0;
    let slowId = 0;
    const t0 = Date.now();
    const fastTimer = setInterval(() => scheduler.submit(frame('fast', fastId++), 120, fast), 1000 / 60);
    const slowTimer = setInterval(() => scheduler.submit(frame('slow', slowId++), 120, slowCam), 200);
    await new Promise((r) => setTimeout(r, 4000));
    clearInterval(fastTimer);
    clearInterval(slowTimer);
    clearInterval(holdTimer);
    expect(await scheduler.settled(5000)).toBe(true);
    const elapsedS = (Date.now() - t0) / 1000;

    // Exactly one verdict for every frame of both cameras.
    for (const [camera, n] of [['fast', fastId], ['slow', slowId]] as const) {
      const ids = given.filter((g) => g.camera === camera).map((g) => g.frameId).sort((a, b) => a - b);
      expect(ids).toEqual([...Array(n).keys()]);
    }
    const answered = (camera: string) => given.filter((g) => g.camera === camera && (g.verdict === 'PASS' || g.verdict === 'FAIL')).length;
    // The pool did real work for the fast camera (the overload is real, not idle)...
    expect(slow.runs / elapsedS).toBeGreaterThan(10);
    expect(fastId / elapsedS).toBeGreaterThan(2.5 * (slow.runs / elapsedS));
    // ...and the slow camera, 1 frame in 13, is served in turn: its own waiting frames are not shed
    // for the fast camera's. With one global queue and FIFO both cameras got the same share (18% of
    // the slow one's frames); served in turn the slow camera's share is several times the fast one's.
    // Measured 75-100% of the slow camera's frames on a quiet 2-vCPU VM, and 53% (the fast camera's
    // share is ~17% by the pool's rate) in CI's Node 24 step with the whole suite sharing the cores: so the test holds
    // the ratio, which load does not move, and a floor well above FIFO's 18%.
    const slowShare = answered('slow') / slowId;
    const fastShare = answered('fast') / fastId;
    expect(answered('fast')).toBeGreaterThan(0);
    expect(slowShare, `slow ${answered('slow')}/${slowId}, fast ${answered('fast')}/${fastId}`).toBeGreaterThanOrEqual(2 * fastShare);
    expect(slowShare).toBeGreaterThanOrEqual(0.35);
    // Shedding keeps memory bounded: the scheduler never held more than maxQueue frames per camera
    // waiting, plus the one running (and one just timed out while its inference finishes), however
    // many the fast camera offered (240). Counted directly: RSS growth here is mostly ONNX Runtime's
    // and V8's own (200-210 MB on Node 20 and 24 alike), not frames (80 KB each).
    expect(mostHeld, `held at most ${mostHeld}`).toBeLessThanOrEqual(2 * 2 + 2);
    expect(mostHeld).toBeGreaterThan(2);
  }, 30_000);
});
