/**
 * Times the CUDA preprocessing and a frame's trip host -> device -> host on the GPU machine, for
 * the three camera sizes of issue 8, against the copy bandwidth measured in the same run.
 *
 *   node dist/bench/gpu/preprocess-bench.js [--frames N] [--json FILE]
 *
 * Bytes moved by the kernel = what it truly reads and writes (kernel-traffic.ts): the 32-byte
 * sectors holding the source pixels it reads, plus the tensor written once. Two ceilings: a 256 MiB device-to-device copy (the card's rate), and a copy that moves the same
 * bytes as the kernel, rotating over as many buffers (what a memory-bound kernel of that size can
 * reach: launch and ramp-up included).
 */
import { writeFileSync } from 'node:fs';
import type { InputSpec } from '../../src/model/spec.js';
import { loadAddon } from '../../src/infer/tensorrt/addon.js';
import { GpuFramePipeline } from '../../src/infer/tensorrt/frame-pipeline.js';
import { planPreprocess, type PixelFormat } from '../../src/infer/tensorrt/plan.js';
import { channelsOf, randomFrame, SPECS } from './frames.js';
import { kernelTraffic } from './kernel-traffic.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const FRAMES = Number(arg('--frames', '2000'));
/** Only the cases whose name contains this (ncu runs one case at a time). */
const ONLY = arg('--only', '');
/** ... and not those whose name contains this (e.g. float16). */
const EXCLUDE = arg('--exclude', '');
const yolo640: InputSpec = { ...SPECS['rgb-letterbox']!, width: 640, height: 640 };
const BASE_CASES: Array<{ name: string; width: number; height: number; format: PixelFormat; spec: InputSpec }> = [
  { name: '640x512 mono8 -> GRAY 320x256 stretch (synthetic-line)', width: 640, height: 512, format: 'mono8', spec: SPECS['synthetic-line']! },
  { name: '1920x1200 BGR8 -> RGB 640x640 letterbox', width: 1920, height: 1200, format: 'bgr8', spec: yolo640 },
  { name: '2448x2048 Bayer RG8 -> RGB 640x640 letterbox', width: 2448, height: 2048, format: 'bayer_rg8', spec: yolo640 },
  {
    name: '2448x2048 Bayer RG8 -> RGB 1224x1024 stretch (every pixel read)',
    width: 2448,
    height: 2048,
    format: 'bayer_rg8',
    spec: { ...yolo640, width: 1224, height: 1024, resize: 'stretch' },
  },
];
// float32 for every case; float16 (an engine whose input is half) for the largest frame.
const CASES = [
  ...BASE_CASES.map((c) => ({ ...c, out: 'float32' as const })),
  ...BASE_CASES.filter((c) => c.width === 2448).map((c) => ({ ...c, name: `${c.name}, float16`, out: 'float16' as const })),
];

function pct(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

async function main(): Promise<void> {
  const addon = loadAddon();
  const device = addon.devices!()[0]!;
  // Ceilings, measured now on this card: 256 MiB copies, bytes read + written for device-to-device.
  const ceiling = addon.copyBandwidth!(256 * 2 ** 20, 20);
  const results = [];
  for (const c of CASES.filter((x) => x.name.includes(ONLY) && !(EXCLUDE && x.name.includes(EXCLUDE)))) {
    const frame = randomFrame(c.width, c.height, channelsOf(c.format), 42);
    const sequential = GpuFramePipeline.open({ input: c.spec, frame: { width: c.width, height: c.height, format: c.format }, slots: 1, out: c.out });
    const kernel: number[] = [];
    const upload: number[] = [];
    const download: number[] = [];
    const gpuTotal: number[] = [];
    const wall: number[] = [];
    for (let i = 0; i < FRAMES + 50; i++) {
      const t0 = performance.now();
      const ms = await sequential.runFrame(frame, ({ gpuMs }) => gpuMs);
      const t1 = performance.now();
      if (i < 50) continue; // warm-up: module load, first-touch of pinned pages
      const [up, pre, down] = sequential.timings(0);
      upload.push(up);
      kernel.push(pre);
      download.push(down);
      gpuTotal.push(ms);
      wall.push(t1 - t0);
    }
    const plan = planPreprocess(c.spec, { width: c.width, height: c.height, format: c.format }, c.out);
    const { frameBytes, tensorBytes } = plan;
    const traffic = kernelTraffic(plan);
    // The kernel alone, launches back to back over input/output sets three times L2's 60 MB, so
    // neither launch gaps nor the cache flatter it (METHOD.md).
    const sets = Math.min(64, Math.max(2, Math.ceil((180 * 2 ** 20) / (frameBytes + tensorBytes))));
    const batched = [1, 2, 3].map(() => sequential.benchmarkKernel(1000, sets)).sort((x, y) => x - y);
    // The same kernel one launch at a time (events around each launch, GPU idle before it): what a
    // frame sees, launch ramp-up and tail included; median of 500.
    const singleMs = sequential.benchmarkKernel(500, sets, true);
    await sequential.close();
    // Throughput with frames in flight on 4 streams.
    const parallel = GpuFramePipeline.open({ input: c.spec, frame: { width: c.width, height: c.height, format: c.format }, slots: 4, out: c.out });
    let next = 0;
    const tp0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < FRAMES) await parallel.runFrame(frame, () => undefined);
      }),
    );
    const throughput = FRAMES / ((performance.now() - tp0) / 1000);
    await parallel.close();
    for (const a of [kernel, upload, download, gpuTotal, wall]) a.sort((x, y) => x - y);
    const kernelBytes = traffic.readBytes + traffic.writeBytes;
    const kernelMs = batched[1]!; // median of three runs of 1000 launches
    const kernelGBps = kernelBytes / (kernelMs * 1e6);
    // The same bytes as a plain copy (half read, half written), from memory as the kernel's sets are.
    const sameSize = addon.copyBandwidth!(kernelBytes / 2, 500, sets);
    // ... and one copy at a time, timed as the kernel's single launches are.
    const sameSizeSingle = addon.copyBandwidth!(kernelBytes / 2, 500, sets, true);
    results.push({
      case: c.name,
      frameBytes,
      tensorBytes,
      out: c.out,
      kernel: {
        bytesMoved: kernelBytes,
        bytesRead: traffic.readBytes,
        bytesWritten: traffic.writeBytes,
        batchedMs: kernelMs,
        batchedRuns: batched,
        rotatingSets: sets,
        GBps: kernelGBps,
        fractionOfDeviceCopy: kernelGBps / ceiling.deviceToDeviceGBps!,
        sameSizeCopyMs: sameSize.deviceToDeviceMs!,
        sameSizeCopyGBps: sameSize.deviceToDeviceGBps!,
        fractionOfSameSizeCopy: kernelGBps / sameSize.deviceToDeviceGBps!,
        // Single launches, kernel and copy alike (the 256 MiB ceiling is launch-independent).
        singleMs,
        singleGBps: kernelBytes / (singleMs * 1e6),
        singleFractionOfDeviceCopy: kernelBytes / (singleMs * 1e6) / ceiling.deviceToDeviceGBps!,
        sameSizeCopySingleMs: sameSizeSingle.deviceToDeviceMs!,
        // One frame at a time through the pipeline (idle GPU between frames, launch latency included).
        inPipelineP50Ms: pct(kernel, 0.5),
        inPipelineP99Ms: pct(kernel, 0.99),
      },
      upload: { bytes: frameBytes, p50Ms: pct(upload, 0.5), GBps: frameBytes / (pct(upload, 0.5) * 1e6), fractionOfHostToDevice: frameBytes / (pct(upload, 0.5) * 1e6) / ceiling.hostToDeviceGBps! },
      download: { bytes: tensorBytes, p50Ms: pct(download, 0.5), GBps: tensorBytes / (pct(download, 0.5) * 1e6) },
      hostToDeviceToHost: { gpuP50Ms: pct(gpuTotal, 0.5), gpuP99Ms: pct(gpuTotal, 0.99), wallP50Ms: pct(wall, 0.5), wallP99Ms: pct(wall, 0.99) },
      framesPerSecond4Streams: throughput,
    });
  }
  const report = { device, ceiling, variant: process.env.INSPECTD_PREPROCESS_VARIANT ?? '0', framesPerCase: FRAMES, node: process.version, results };
  const json = arg('--json', '');
  if (json) writeFileSync(json, JSON.stringify(report, null, 1) + '\n');
  console.log(`${device.name} (sm ${device.computeCapability}); copy ceilings: device-to-device ${ceiling.deviceToDeviceGBps!.toFixed(0)} GB/s, host-to-device ${ceiling.hostToDeviceGBps!.toFixed(1)} GB/s, device-to-host ${ceiling.deviceToHostGBps!.toFixed(1)} GB/s`);
  console.log('case | kernel MB read + written | kernel MB | kernel us (batched) | kernel GB/s | % of D2D copy | same-size copy us | % of same-size copy | kernel us single / same-size copy single | % of D2D copy single | kernel us in pipeline p50 | upload p50 us | H2D->D2H gpu p50 / wall p50 / wall p99 ms | fps (4 streams)');
  for (const r of results) {
    console.log(
      `${r.case} | ${(r.kernel.bytesRead / 1e6).toFixed(2)} + ${(r.kernel.bytesWritten / 1e6).toFixed(2)} | ${(r.kernel.bytesMoved / 1e6).toFixed(2)} | ${(r.kernel.batchedMs * 1000).toFixed(1)} | ${r.kernel.GBps.toFixed(0)} | ${(100 * r.kernel.fractionOfDeviceCopy).toFixed(1)}% | ${(r.kernel.sameSizeCopyMs * 1000).toFixed(1)} | ${(100 * r.kernel.fractionOfSameSizeCopy).toFixed(1)}% | ${(r.kernel.singleMs * 1000).toFixed(1)} / ${(r.kernel.sameSizeCopySingleMs * 1000).toFixed(1)} | ${(100 * r.kernel.singleFractionOfDeviceCopy).toFixed(1)}% | ${(r.kernel.inPipelineP50Ms * 1000).toFixed(1)} | ${(r.upload.p50Ms * 1000).toFixed(1)} | ${r.hostToDeviceToHost.gpuP50Ms.toFixed(3)} / ${r.hostToDeviceToHost.wallP50Ms.toFixed(3)} / ${r.hostToDeviceToHost.wallP99Ms.toFixed(3)} | ${r.framesPerSecond4Streams.toFixed(0)}`,
    );
  }
}

await main();
