import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SPECS } from '../../bench/gpu/frames.js';
import { addonPath, loadAddon } from '../../src/infer/tensorrt/addon.js';
import { GpuFramePipeline } from '../../src/infer/tensorrt/frame-pipeline.js';
import { planPreprocess } from '../../src/infer/tensorrt/plan.js';
import { GPU, writeResult } from './helpers.js';

describe.runIf(GPU)('GPU resources are freed', () => {
  it('load/run/close cycles leave device memory where it was', async () => {
    const addon = loadAddon();
    const spec = SPECS['rgb-letterbox']!;
    const frame = new Uint8Array(1920 * 1200 * 3).fill(90);
    const cycle = async () => {
      const p = GpuFramePipeline.open({ input: spec, frame: { width: 1920, height: 1200, format: 'bgr8' }, slots: 4 });
      await Promise.all(Array.from({ length: 8 }, () => p.runFrame(frame, () => undefined)));
      await p.close();
    };
    await cycle(); // the first launch loads the kernel module: not a leak
    const before = { mem: addon.memoryInfo!(0), alloc: addon.allocationStats!() };
    const CYCLES = 200;
    for (let i = 0; i < CYCLES; i++) await cycle();
    const after = { mem: addon.memoryInfo!(0), alloc: addon.allocationStats!() };
    writeResult('leak-cycles.json', {
      cycles: CYCLES,
      deviceFreeBefore: before.mem.free,
      deviceFreeAfter: after.mem.free,
      deviceAllocationsMade: after.alloc.deviceAllocations - before.alloc.deviceAllocations,
      deviceBytesLive: after.alloc.deviceBytesLive,
      pinnedBytesLive: after.alloc.pinnedBytesLive,
      failedFrees: after.alloc.failedFrees,
    });
    expect(after.alloc.deviceAllocations - before.alloc.deviceAllocations).toBeGreaterThan(CYCLES);
    expect(after.mem.free).toBe(before.mem.free);
    expect(after.alloc.deviceBytesLive).toBe(0);
    expect(after.alloc.pinnedBytesLive).toBe(0);
    expect(after.alloc.failedFrees).toBe(0);
  }, 300_000);

  it('a worker thread that ends without close() frees its pipeline (environment cleanup hook)', async () => {
    const addon = loadAddon();
    const plan = planPreprocess(SPECS['synthetic-line']!, { width: 640, height: 512, format: 'mono8' });
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData.file);
      const p = new addon.FramePipeline({ ...workerData.native, device: 0, slots: 3 });
      new Uint8Array(p.frameBuffers[0]).fill(5);
      p.run(0, 0).then(() => parentPort.postMessage(addon.allocationStats()));`;
    const worker = new Worker(code, { eval: true, workerData: { file: addonPath(), native: plan.native } });
    const inWorker = await new Promise<{ deviceBytesLive: number }>((res, rej) => {
      worker.once('message', res);
      worker.once('error', rej);
    });
    await worker.terminate();
    const after = addon.allocationStats!();
    writeResult('worker-cleanup.json', { deviceBytesLiveInWorker: inWorker.deviceBytesLive, deviceBytesLiveAfterExit: after.deviceBytesLive, pinnedBytesLiveAfterExit: after.pinnedBytesLive });
    expect(inWorker.deviceBytesLive).toBeGreaterThan(0);
    expect(after.deviceBytesLive).toBe(0);
    expect(after.pinnedBytesLive).toBe(0);
  });

  it('a device allocation larger than the GPU fails with INSPECTD_CUDA_OOM, not a crash', () => {
    const addon = loadAddon();
    const total = addon.memoryInfo!(0).total;
    expect(() => addon.copyBandwidth!(total * 2, 1)).toThrow(expect.objectContaining({ code: 'INSPECTD_CUDA_OOM' }));
    expect(addon.allocationStats!().deviceBytesLive).toBe(0);
  });
});
