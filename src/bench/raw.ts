import { performance } from 'node:perf_hooks';
import type { OpenModel } from '../inspect/model.js';
import { opencv } from '../preprocess/opencv.js';
import { isPreparedFrame, type ModelInput } from '../inspect/model-input.js';
import { renderPart } from '../source/synthetic/render.js';
import { ascending, percentile, round2 } from './stats.js';

export interface RawFigures {
  p50Ms: number;
  p99Ms: number;
  /** Inferences per second with every worker of the pool kept busy. */
  saturationFps: number;
  runs: number;
  /** Of p50/p99: the part spent in the runtime on its thread (backends that report it), the rest being messaging. */
  sessionP50Ms?: number;
  sessionP99Ms?: number;
}

/** A rendered synthetic part of the camera's size, prepared as the model's chain prepares it (tensor or frame). */
export async function sampleInput(model: OpenModel, width: number, height: number, channels: 1 | 3): Promise<ModelInput> {
  const cv = opencv();
  const part = renderPart({ width, height, channels, defectRate: 0.3, seed: 7, index: 0 });
  const image = new cv.Mat(Buffer.from(part.pixels), height, width, channels === 1 ? cv.CV_8UC1 : cv.CV_8UC3);
  try {
    return await model.prepare(image);
  } finally {
    image.release();
  }
}

/**
 * A fresh tensor per run, as the daemon's frames have: a backend may transfer (detach) the buffer it
 * is given, and a shared one goes back to the model's pool after its run (frames are copied, not taken).
 */
function fresh(model: OpenModel, prepared: ModelInput): ModelInput {
  if (isPreparedFrame(prepared)) return prepared;
  const tensor = model.tensors ? model.tensors.take(prepared.tensor.length) : new Float32Array(prepared.tensor.length);
  tensor.set(prepared.tensor);
  return { ...prepared, tensor };
}

/**
 * The backend alone: latency of one inference at a time on one session, then throughput with every
 * session of the pool busy. What the whole daemon is measured against.
 */
export async function measureRaw(model: OpenModel, prepared: ModelInput, seconds: number, onProgress: (line: string) => void): Promise<RawFigures> {
  const backend = model.backend;
  for (let i = 0; i < 5; i++) await model.run(fresh(model, prepared), backend);
  const times: number[] = [];
  const session: number[] = [];
  const latencyEnd = performance.now() + (seconds * 1000) / 2;
  while (performance.now() < latencyEnd) {
    const t0 = performance.now();
    await model.run(fresh(model, prepared), backend);
    times.push(performance.now() - t0);
    if (backend.lastSessionMs !== undefined) session.push(backend.lastSessionMs);
  }
  onProgress(`raw: ${times.length} runs, one at a time`);
  let done = 0;
  const t0 = performance.now();
  const satEnd = t0 + (seconds * 1000) / 2;
  await Promise.all(
    model.backends.map(async (b) => {
      while (performance.now() < satEnd) {
        await model.run(fresh(model, prepared), b);
        done++;
      }
    }),
  );
  const saturationFps = done / ((performance.now() - t0) / 1000);
  onProgress(`raw: ${done} runs on ${model.backends.length} worker(s) at once`);
  const sorted = ascending(times);
  const inRuntime = ascending(session);
  return {
    p50Ms: round2(percentile(sorted, 50)),
    p99Ms: round2(percentile(sorted, 99)),
    saturationFps: round2(saturationFps),
    runs: times.length,
    ...(inRuntime.length ? { sessionP50Ms: round2(percentile(inRuntime, 50)), sessionP99Ms: round2(percentile(inRuntime, 99)) } : {}),
  };
}
