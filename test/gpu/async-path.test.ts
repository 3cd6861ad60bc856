import { describe, expect, it } from 'vitest';
import { SPECS } from '../../bench/gpu/frames.js';
import { loadAddon } from '../../src/infer/tensorrt/addon.js';
import { GpuFramePipeline } from '../../src/infer/tensorrt/frame-pipeline.js';
import { GPU, writeResult } from './helpers.js';

/**
 * The whole asynchronous path from JS with only the TensorRT calls absent (the pass-through stage
 * copies the preprocessed tensor back): pinned buffers, one stream per slot, the host callback,
 * the thread-safe function, the promise. 100,000 frames, more in flight than there are slots.
 */
const FRAMES = Number(process.env.INSPECTD_GPU_FRAMES ?? 100_000);
const IN_FLIGHT = 16;
const SLOTS = 8;

describe.runIf(GPU)('GPU frame pipeline under load', () => {
  it(`runs ${FRAMES} frames with every promise settled, the right tensor for each frame, no allocation per frame and no leak`, async () => {
    const addon = loadAddon();
    const spec = SPECS['synthetic-line']!;
    // The CUDA runtime takes some device memory once, lazily (the kernel module; ~4 MiB more the first
    // time several streams run host callbacks at once: seen on the H200): a warm-up run of the same
    // shape takes that first, so what is compared is what the 100,000 frames leave behind.
    const warm = GpuFramePipeline.open({ input: spec, frame: { width: 640, height: 512, format: 'mono8' }, slots: SLOTS });
    await Promise.all(Array.from({ length: 4 * SLOTS }, (_, i) => warm.runFrame(new Uint8Array(640 * 512).fill(i), () => undefined)));
    await warm.close();
    const before = { alloc: addon.allocationStats!(), mem: addon.memoryInfo!(0) };
    const pipeline = GpuFramePipeline.open({ input: spec, frame: { width: 640, height: 512, format: 'mono8' }, slots: SLOTS });
    const opened = addon.allocationStats!();
    const alpha = pipeline.plan.native.alpha[0]!;
    const beta = pipeline.plan.native.beta[0]!;
    let wrong = 0;
    let next = 0;
    let maxInFlight = 0;
    const gpuMs: number[] = [];
    const rssStart = process.memoryUsage().rss;
    let rssAfterWarmup = 0;
    const t0 = performance.now();

    // Each frame is one flat grey value, so a tensor coming back to the wrong frame is seen at once.
    // Each lane has its own frame: pixels are read when a slot frees up, so they must not change meanwhile.
    async function lane(): Promise<void> {
      const frame = new Uint8Array(640 * 512);
      while (next < FRAMES) {
        const i = next++;
        if (i === 1000) rssAfterWarmup = process.memoryUsage().rss;
        const value = (i * 37) % 256;
        frame.fill(value);
        maxInFlight = Math.max(maxInFlight, pipeline.stats().inFlight);
        await pipeline.runFrame(frame, ({ views, gpuMs: ms }) => {
          const t = new Float32Array(views[0]!.buffer, views[0]!.byteOffset, 320 * 256);
          const expected = Math.fround(Math.fround(value * Math.fround(alpha)) + Math.fround(beta));
          if (t[0] !== expected || t[12345] !== expected || t[t.length - 1] !== expected) wrong++;
          if (i % 100 === 0) gpuMs.push(ms);
        });
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    const seconds = (performance.now() - t0) / 1000;
    const during = addon.allocationStats!();
    const stats = pipeline.stats();
    const rssEnd = process.memoryUsage().rss;
    await pipeline.close();
    const after = { alloc: addon.allocationStats!(), mem: addon.memoryInfo!(0) };
    gpuMs.sort((x, y) => x - y);

    const result = {
      frames: FRAMES,
      slots: SLOTS,
      inFlightLanes: IN_FLIGHT,
      maxInFlightSeen: maxInFlight,
      wrongTensors: wrong,
      seconds,
      framesPerSecond: FRAMES / seconds,
      gpuMsPerFrame: { p50: gpuMs[Math.floor(gpuMs.length / 2)], p99: gpuMs[Math.floor(gpuMs.length * 0.99)] },
      allocationsWhileRunning: {
        device: during.deviceAllocations - opened.deviceAllocations,
        pinned: during.pinnedAllocations - opened.pinnedAllocations,
      },
      afterClose: { deviceBytesLive: after.alloc.deviceBytesLive - before.alloc.deviceBytesLive, pinnedBytesLive: after.alloc.pinnedBytesLive - before.alloc.pinnedBytesLive, failedFrees: after.alloc.failedFrees },
      deviceFreeBytes: { before: before.mem.free, after: after.mem.free },
      rssMiB: { start: rssStart / 2 ** 20, afterWarmup: rssAfterWarmup / 2 ** 20, end: rssEnd / 2 ** 20 },
    };
    writeResult('async-path.json', result);
    expect(stats.submitted).toBe(FRAMES);
    expect(stats.completed).toBe(FRAMES);
    expect(wrong).toBe(0);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(result.allocationsWhileRunning).toEqual({ device: 0, pinned: 0 });
    expect(result.afterClose.deviceBytesLive).toBe(0);
    expect(result.afterClose.pinnedBytesLive).toBe(0);
    expect(after.mem.free).toBe(before.mem.free);
    // JS-side garbage comes and goes; a leak of even 100 bytes a frame would be 10 MB here.
    expect(rssEnd - rssAfterWarmup).toBeLessThan(24 * 2 ** 20);
  }, 600_000);

  it('rejects frames after close and detaches the pinned views', async () => {
    const pipeline = GpuFramePipeline.open({ input: SPECS['synthetic-line']!, frame: { width: 640, height: 512, format: 'mono8' }, slots: 2 });
    const frame = new Uint8Array(640 * 512).fill(7);
    await pipeline.runFrame(frame, () => undefined);
    await pipeline.close();
    await expect(pipeline.runFrame(frame, () => undefined)).rejects.toMatchObject({ code: 'INSPECTD_BACKEND_CLOSED' });
  });
});
