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

  it('refuses tensorrt by name with its code (no TensorRT backend in this build)', async () => {
    await expect(createBackendPool(loadModelSpec(defaultModelJson), { backend: 'tensorrt', precision: 'auto', workers: 1, threads: 1 })).rejects.toMatchObject({
      code: 'INSPECTD_BACKEND_UNAVAILABLE',
    });
  });
});
