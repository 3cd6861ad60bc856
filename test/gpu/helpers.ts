import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ReferenceManifest } from '../../bench/gpu/frames.js';

/** GPU tests run only where a GPU is: INSPECTD_GPU_TESTS=1 (bench/gpu/run-on-gpu-machine.sh sets it). */
export const GPU = process.env.INSPECTD_GPU_TESTS === '1';

/** Where a GPU test writes its figures for bench/gpu/ (the device run's $OUT); unset = nowhere. */
export function writeResult(name: string, value: unknown): void {
  const dir = process.env.INSPECTD_GPU_OUT;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), JSON.stringify(value, null, 1) + '\n');
}

export function loadReferences(): { manifest: ReferenceManifest; blob: Buffer } {
  const dir = resolve(process.env.INSPECTD_GPU_REFS ?? '.carry/gpu-refs');
  return {
    manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ReferenceManifest,
    blob: readFileSync(join(dir, 'refs.bin')),
  };
}
