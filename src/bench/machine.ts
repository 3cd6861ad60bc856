import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createRequire } from 'node:module';

/** What the figures were measured on: they mean little without the CPU's vector units and the versions. */
export interface MachineDescription {
  cpu: string;
  cores: number;
  /** The flags that decide ONNX Runtime's INT8 and FP32 kernels. */
  flags: string[];
  memoryGb: number;
  node: string;
  onnxruntime: string;
}

const INTERESTING_FLAGS = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'amx_int8', 'amx_bf16', 'asimd', 'asimddp'];

export function describeMachine(): MachineDescription {
  let flags: string[] = [];
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => l.startsWith('flags') || l.startsWith('Features'));
    const present = new Set((line?.split(':')[1] ?? '').trim().split(/\s+/));
    flags = INTERESTING_FLAGS.filter((f) => present.has(f));
  } catch {
    // Not Linux: the CPU model still says a lot.
  }
  const require = createRequire(import.meta.url);
  let onnxruntime = 'unknown';
  try {
    onnxruntime = (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    // Reported as unknown.
  }
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    flags,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntime,
  };
}
