import pino from 'pino';
import { createDecoder } from '../../src/decode/index.js';
import type { InferenceBackend } from '../../src/infer/backend.js';
import { OnnxRuntimeBackend } from '../../src/infer/onnxruntime/backend.js';
import { cameraInspection, type CameraInspection } from '../../src/inspect/camera.js';
import { wrapModel } from '../../src/inspect/model.js';
import { loadModelSpec, modelFile } from '../../src/model/spec.js';
import { opencv } from '../../src/preprocess/opencv.js';
import type { ModelInput } from '../../src/inspect/model-input.js';
import type { VerdictSink } from '../../src/schedule/scheduler.js';
import type { Frame } from '../../src/source/frame.js';
import { renderPart, type RenderedPart } from '../../src/source/synthetic/render.js';
import type { Decision } from '../../src/verdict/types.js';
import { defaultModelJson } from './model.js';

/**
 * The scheduler with real parts around it: the synthetic-line model on ONNX Runtime in its worker,
 * the daemon's own camera inspection (OpenCV preprocessing, decoder, verdict rules), synthetic
 * frames. Only the timing is arranged: the backend can be made slow, and every run is counted.
 */

export interface Given {
  frame: Frame;
  decision: Decision;
  decidedAt: number;
  seq: number;
}

/** A sink that keeps every verdict and late result in the order the scheduler gave them. */
export function recordingSink() {
  const given: Given[] = [];
  const late: Array<{ seq: number; decision: Decision; decidedAt: number }> = [];
  const sink: VerdictSink = {
    decided: (frame, decision, decidedAt) => {
      given.push({ frame, decision, decidedAt, seq: given.length + 1 });
      return given.length;
    },
    late: (seq, decision, decidedAt) => late.push({ seq, decision, decidedAt }),
  };
  return { sink, given, late };
}

export const loaded = loadModelSpec(defaultModelJson);
const rules = { threshold: loaded.spec.thresholds.default, perClass: {}, minDefectAreaPx: 0, ignore: [] };
export const silentLog = pino({ level: 'silent' });

/** cam1's inspection as the daemon builds it (the synthetic-line model and its rules) over `backends`. */
export function inspection(backends: readonly InferenceBackend[]): CameraInspection {
  return cameraInspection('cam1', wrapModel(loaded, backends, createDecoder(loaded.spec)), rules);
}

/** cam1's inspection, noting which frame each backend run is for. */
export function trackedInspection(backends: readonly InferenceBackend[]): { inspection: CameraInspection; ran: number[] } {
  const inner = inspection(backends);
  const frameOf = new WeakMap<ModelInput, number>();
  const ran: number[] = [];
  return {
    ran,
    inspection: {
      ...inner,
      prepare: async (frame) => {
        const frameId = frame.frameId;
        const p = await inner.prepare(frame);
        frameOf.set(p, frameId);
        return p;
      },
      infer: (p, backend) => {
        ran.push(frameOf.get(p)!);
        return inner.infer(p, backend);
      },
    },
  };
}

export function createBackend(): Promise<InferenceBackend> {
  return OnnxRuntimeBackend.create({ file: modelFile(loaded).file, precision: 'int8', intraOpThreads: 1 });
}

/** A few parts rendered once: rendering takes ~10 ms, which would disturb the frame clock of a test. */
const PARTS = 8;
const parts = new Map<number, RenderedPart>();

/** A synthetic frame captured now; `index` picks the part (and is its frameId). */
export function syntheticFrame(index: number): Frame {
  const cv = opencv();
  const key = index % PARTS;
  let part = parts.get(key);
  if (!part) {
    part = renderPart({ width: 640, height: 512, channels: 1, defectRate: 0.5, seed: 11, index: key });
    parts.set(key, part);
  }
  const image = new cv.Mat(Buffer.from(part.pixels), part.height, part.width, cv.CV_8UC1);
  return { camera: 'cam1', frameId: index, capturedAt: Date.now(), partId: null, image, truth: part.truth };
}

/** Renders the parts ahead, so the first frames of a timed test are not slower than the rest. */
export function warmParts(): void {
  for (let i = 0; i < PARTS; i++) syntheticFrame(i).image.release();
}
