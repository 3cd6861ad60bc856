import { describe, expect, it } from 'vitest';
import { createBackendPool } from '../../src/infer/select.js';
import { loadModelSpec } from '../../src/model/spec.js';
import { defaultModelJson } from '../helpers/model.js';

describe('backend and precision choice', () => {
  it('precision auto times both files on this machine and keeps the faster, with both medians reported', async () => {
    const pool = await createBackendPool(loadModelSpec(defaultModelJson), { backend: 'auto', precision: 'auto', workers: 2, threads: 1 });
    try {
      expect(pool.probe).toBeDefined();
      const { fp32Ms, int8Ms } = pool.probe!;
      expect(fp32Ms).toBeGreaterThan(0);
      expect(int8Ms).toBeGreaterThan(0);
      expect(pool.precision).toBe(int8Ms <= fp32Ms ? 'int8' : 'fp32');
      expect(pool.backends).toHaveLength(2);
      for (const b of pool.backends) expect(b.info.precision).toBe(pool.precision);
    } finally {
      await Promise.all(pool.backends.map((b) => b.close()));
    }
  });

  it('a pinned precision is used as given, without timing', async () => {
    const pool = await createBackendPool(loadModelSpec(defaultModelJson), { backend: 'onnxruntime', precision: 'fp32', workers: 1, threads: 1 });
    try {
      expect(pool.probe).toBeUndefined();
      expect(pool.backends.map((b) => b.info.precision)).toEqual(['fp32']);
    } finally {
      await Promise.all(pool.backends.map((b) => b.close()));
    }
  });

  it('refuses tensorrt by name on a machine that cannot run it, with the reason and the fix (no GPU or libnvinfer here)', async () => {
    const err = (await createBackendPool(loadModelSpec(defaultModelJson), { backend: 'tensorrt', precision: 'auto', workers: 1, threads: 1 }).catch((e: unknown) => e)) as {
      code: string;
      message: string;
    };
    expect(['INSPECTD_CUDA', 'INSPECTD_TRT_NOT_FOUND', 'INSPECTD_ADDON_LOAD']).toContain(err.code);
    expect(err.message).toMatch(/^inference\.backend: tensorrt cannot run here: .+; .+/);
  });

  it('auto falls back to ONNX Runtime when TensorRT cannot run', async () => {
    const pool = await createBackendPool(loadModelSpec(defaultModelJson), { backend: 'auto', precision: 'fp32', workers: 1, threads: 1 });
    try {
      expect(pool.backends.map((b) => b.info.name)).toEqual(['onnxruntime']);
    } finally {
      await Promise.all(pool.backends.map((b) => b.close()));
    }
  });
});
