/**
 * The model alone on one CPU while the other CPUs run a stated load: how much of the inference's
 * slowdown inside the daemon is the neighbours' work through shared caches, memory and the
 * hypervisor, not preemption. `node dist/bench/neighbour.js [SECONDS]`: the inference thread is
 * pinned to the last CPU (inference.cpus), the load to the others with taskset; steal time is read
 * from /proc/stat over each run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { measureRaw, sampleInput } from '../src/bench/raw.js';
import { openModel } from '../src/inspect/model.js';
import { usableCpus } from '../src/ops/cpu-affinity.js';
import { packageRoot } from '../src/paths.js';

const LOADS: Record<string, string | undefined> = {
  idle: undefined,
  // Arithmetic in registers and L1: shares only the core's front end, if the host puts a sibling there.
  compute: 'let x = 1; for (;;) { for (let i = 0; i < 1e7; i++) x = (x * 1.0000001 + 1e-9) % 1e6; }',
  // 64 MiB copied over and over: the L3 and memory bandwidth the model's weights and activations use.
  memory: 'const a = new Float64Array(8 << 20), b = new Float64Array(8 << 20); for (;;) b.set(a);',
};

function steal(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return f[7]!;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 6);
  const cpus = usableCpus() ?? [0];
  const inferenceCpu = cpus.at(-1)!;
  const others = cpus.filter((c) => c !== inferenceCpu);
  const model = await openModel(resolve(packageRoot(), 'models/synthetic-line/model.json'), { precision: 'fp32', intraOpThreads: 1, nice: -5, cpus: [inferenceCpu] });
  const prepared = await sampleInput(model, 640, 512, 1);
  const rows: string[] = [];
  try {
    for (const [name, code] of Object.entries(LOADS)) {
      const load: ChildProcess[] = code && others.length ? others.map((c) => spawn('taskset', ['-c', String(c), process.execPath, '-e', code], { stdio: 'ignore' })) : [];
      await new Promise((r) => setTimeout(r, 500));
      const s0 = steal();
      const raw = await measureRaw(model, prepared, seconds, () => {});
      const stealMs = (steal() - s0) * 10;
      for (const p of load) p.kill('SIGKILL');
      rows.push(`| ${name} | ${raw.p50Ms} / ${raw.p99Ms} | ${raw.sessionP50Ms} / ${raw.sessionP99Ms} | ${raw.saturationFps} | ${stealMs} |`);
    }
  } finally {
    await model.close();
  }
  process.stdout.write(`inference on CPU ${inferenceCpu}, load on CPU ${others.join(',') || 'none'}, ${seconds} s each\n`);
  process.stdout.write('| load on the other CPUs | round trip p50 / p99 (ms) | in the runtime p50 / p99 (ms) | saturation (fps) | steal (ms, all CPUs) |\n|---|---|---|---|---|\n');
  process.stdout.write(rows.join('\n') + '\n');
}

await main();
