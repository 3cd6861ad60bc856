import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InspectdError } from '../../errors.js';

/**
 * A TensorRT engine only runs on the GPU model and TensorRT version it was built with, so it is
 * cached beside its ONNX file under a name that carries all four parts of its key, with the key
 * also written to a sidecar JSON that is checked before TensorRT ever sees the file.
 */
export interface EngineKey {
  gpuName: string;
  computeCapability: string;
  tensorRtVersion: string;
  /** sha256 of the ONNX file the engine was built from. */
  modelSha256: string;
  precision: string;
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** models/x/model.int8.onnx + key -> models/x/model.int8.sm90.trt10.3.0.1a2b3c4d.engine */
export function enginePathFor(onnxFile: string, key: EngineKey): string {
  const stem = basename(onnxFile).replace(/\.onnx$/i, '');
  const sm = `sm${key.computeCapability.replace('.', '')}`;
  return join(dirname(onnxFile), `${stem}.${sm}.trt${key.tensorRtVersion}.${key.modelSha256.slice(0, 8)}.engine`);
}

export function writeEngineKey(enginePath: string, key: EngineKey): void {
  writeFileSync(`${enginePath}.json`, JSON.stringify(key, null, 2) + '\n');
}

/** Why this engine cannot be used here, or null when its key matches. */
export function engineMismatch(enginePath: string, expected: EngineKey): string | null {
  if (!existsSync(enginePath)) return `${enginePath} does not exist`;
  let stored: Partial<EngineKey>;
  try {
    stored = JSON.parse(readFileSync(`${enginePath}.json`, 'utf8')) as Partial<EngineKey>;
  } catch {
    return `${enginePath}.json (the engine's key) is missing or unreadable`;
  }
  for (const field of ['gpuName', 'computeCapability', 'tensorRtVersion', 'modelSha256', 'precision'] as const) {
    if (stored[field] !== expected[field]) return `engine was built for ${field} ${String(stored[field])}, this is ${expected[field]}`;
  }
  return null;
}

export function requireMatchingEngine(enginePath: string, expected: EngineKey): void {
  const why = engineMismatch(enginePath, expected);
  if (why) {
    throw new InspectdError(
      'INSPECTD_ENGINE_INCOMPATIBLE',
      `TensorRT engine ${enginePath} cannot be used here: ${why}. Build one on this machine: inspectd build-engine -m MODEL_JSON --precision ${expected.precision}`,
    );
  }
}
