/**
 * CPU latency of a model's FP32 and INT8 files through onnxruntime-node, the runtime the daemon uses.
 * For each precision and thread count (1 and all cores): create a session (intraOpNumThreads = n,
 * inter-op 1, sequential), warm up, then time `runs` single inferences and report the median
 * (and p10/p90). The input is a fixed pseudo-random tensor in the model's normalised input range.
 *
 *   node dist/bench/model-latency.js [--model models/synthetic-line/model.json ...] [--runs 200]
 *        [--warmup 20] [--json out.json]
 * Without --model it measures every models/<name>/model.json.
 */
import { readdirSync, existsSync, writeFileSync, statSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { loadModelSpec, modelFile, inputChannels, type Precision } from '../src/model/spec.js';

interface Row {
  model: string;
  precision: Precision;
  threads: number;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  runs: number;
  fileBytes: number;
}

function args(argv: string[]) {
  const models: string[] = [];
  let runs = 200;
  let warmup = 20;
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--model') models.push(argv[++i]!);
    else if (a === '--runs') runs = Number(argv[++i]);
    else if (a === '--warmup') warmup = Number(argv[++i]);
    else if (a === '--json') json = argv[++i];
  }
  if (models.length === 0) {
    for (const d of readdirSync('models')) {
      const p = join('models', d, 'model.json');
      if (existsSync(p)) models.push(p);
    }
  }
  return { models, runs, warmup, json };
}

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i]!;
}

async function measure(file: string, dims: number[], threads: number, runs: number, warmup: number, lo: number, hi: number) {
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', data, dims) };
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  await session.release();
  times.sort((a, b) => a - b);
  return { medianMs: quantile(times, 0.5), p10Ms: quantile(times, 0.1), p90Ms: quantile(times, 0.9) };
}

async function main(): Promise<void> {
  const { models, runs, warmup, json } = args(process.argv.slice(2));
  const all = availableParallelism();
  const rows: Row[] = [];
  for (const m of models) {
    const loaded = loadModelSpec(m);
    const { input } = loaded.spec;
    const c = inputChannels(input);
    const dims = input.layout === 'NCHW' ? [1, c, input.height, input.width] : [1, input.height, input.width, c];
    const lo = (0 - input.mean[0]!) / input.std[0]!;
    const hi = (255 * input.scale - input.mean[0]!) / input.std[0]!;
    for (const precision of ['fp32', 'int8'] as const) {
      if (!loaded.spec.files[precision]) continue;
      const { file } = modelFile(loaded, precision);
      for (const threads of [...new Set([1, all])]) {
        const r = await measure(file, dims, threads, runs, warmup, lo, hi);
        rows.push({ model: loaded.spec.name, precision, threads, ...r, runs, fileBytes: statSync(file).size });
      }
    }
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`onnxruntime-node ${ort.env.versions?.common ?? ''} on ${cpu}, ${all} logical cores, node ${process.version}`);
  console.log('model            precision threads  median ms   p10 ms   p90 ms');
  for (const r of rows) {
    console.log(
      `${r.model.padEnd(16)} ${r.precision.padEnd(9)} ${String(r.threads).padStart(7)} ${r.medianMs.toFixed(3).padStart(10)} ${r.p10Ms
        .toFixed(3)
        .padStart(8)} ${r.p90Ms.toFixed(3).padStart(8)}`,
    );
  }
  for (const name of [...new Set(rows.map((r) => r.model))]) {
    for (const t of [...new Set(rows.map((r) => r.threads))]) {
      const f = rows.find((r) => r.model === name && r.precision === 'fp32' && r.threads === t);
      const q = rows.find((r) => r.model === name && r.precision === 'int8' && r.threads === t);
      if (f && q) console.log(`${name}: INT8 speed-up over FP32 at ${t} thread(s): ${(f.medianMs / q.medianMs).toFixed(2)}x`);
    }
  }
  if (json) writeFileSync(resolve(json), JSON.stringify({ cpu, cores: all, node: process.version, runs, warmup, rows }, null, 1));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
