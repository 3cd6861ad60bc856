import { afterAll, beforeAll } from 'vitest';
import type { InferenceBackend } from '../../src/infer/backend.js';
import { OnnxRuntimeBackend } from '../../src/infer/onnxruntime/backend.js';
import { loadModelSpec, modelFile } from '../../src/model/spec.js';
import { defaultModelJson } from './model.js';

/**
 * The embedded default model loaded, its plain rules, and one real INT8 ONNX Runtime session at one
 * thread, opened before the file's tests and closed after: what the scheduler tests run frames on.
 */
export function defaultModelBackend() {
  const loaded = loadModelSpec(defaultModelJson);
  const rules = { threshold: loaded.spec.thresholds.default, perClass: {}, minDefectAreaPx: 0, ignore: [] };
  const held: { backend?: InferenceBackend } = {};
  beforeAll(async () => {
    held.backend = await OnnxRuntimeBackend.create({ file: modelFile(loaded, 'int8').file, precision: 'int8', intraOpThreads: 1 });
  });
  afterAll(async () => {
    await held.backend?.close();
  });
  return { loaded, rules, backend: () => held.backend! };
}
