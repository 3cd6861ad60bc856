import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native addons (OpenCV, better-sqlite3, ONNX Runtime) and worker threads do not mix well with
    // the threads pool; forks gives each test file its own process.
    pool: 'forks',
    // One file at a time: the integration tests measure deadlines and frame rates, and on a 2-core
    // CI machine a neighbouring file's inference would steal the CPU they are timing.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
