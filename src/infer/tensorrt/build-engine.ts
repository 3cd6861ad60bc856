import type { Writable } from 'node:stream';
import { errorCode, errorMessage, InspectdError } from '../../errors.js';
import { loadModelSpec, modelFile } from '../../model/spec.js';
import { EXIT_FAILURE, EXIT_OK } from '../../cli/exit-codes.js';
import { fromNative, loadAddon } from './addon.js';
import { tensorRtAvailability } from './availability.js';
import { enginePathFor, sha256File, writeEngineKey, type EngineKey } from './engine-cache.js';

export interface BuildEngineOptions {
  model: string;
  precision?: 'int8' | 'fp16' | 'fp32';
  workspace?: number;
  timingCache?: string;
  out?: string;
}

/**
 * `inspectd build-engine`: ONNX -> TensorRT engine for this GPU and TensorRT version, written
 * beside the model under a name carrying its cache key (engine-cache.ts), with progress on stderr
 * and each layer's precision on stdout. INT8 is built from the model's Q/DQ file only; fp16 from
 * the fp32 file (TensorRT 10 only: TensorRT 11 takes types from the model).
 * Written against TensorRT 10 and 11 headers; not yet run on a real TensorRT (docs/gpu.md).
 */
export async function buildEngineCommand(o: BuildEngineOptions, out: Writable, err: Writable): Promise<number> {
  try {
    const loaded = loadModelSpec(o.model);
    const precision = o.precision ?? loaded.spec.defaultPrecision;
    const { file: onnx } = modelFile(loaded, precision === 'fp16' ? 'fp32' : precision);
    const available = tensorRtAvailability();
    if (!available.ok) throw new InspectdError(available.code, `${available.reason}; ${available.fix}`);
    const key: EngineKey = {
      gpuName: available.device.name,
      computeCapability: available.device.computeCapability,
      tensorRtVersion: available.libraryVersion,
      modelSha256: sha256File(onnx),
      precision,
    };
    const engine = o.out ?? enginePathFor(onnx, key);
    err.write(`build-engine: ${onnx} -> ${engine} (${precision}, ${key.gpuName} sm ${key.computeCapability}, TensorRT ${key.tensorRtVersion})\n`);
    const addon = loadAddon();
    if (!addon.buildEngine) throw new InspectdError('INSPECTD_TRT_NOT_FOUND', 'this GPU addon has no TensorRT builder (built without TensorRT headers)');
    const started = Date.now();
    const result = await addon
      .buildEngine(
        { onnx, out: engine, precision, workspaceMb: o.workspace ?? 1024, ...(o.timingCache ? { timingCache: o.timingCache } : {}) },
        (line) => err.write(`build-engine: [${Math.round((Date.now() - started) / 1000)} s] ${line}\n`),
      )
      .catch((e: unknown) => {
        throw fromNative(e);
      });
    writeEngineKey(engine, key);
    for (const layer of layerPrecisions(result.layers)) out.write(`${layer.precision.padEnd(8)} ${layer.name}\n`);
    err.write(`build-engine: wrote ${engine} (${result.engineBytes} bytes) in ${Math.round((Date.now() - started) / 1000)} s\n`);
    return EXIT_OK;
  } catch (e) {
    err.write(`inspectd build-engine: ${errorMessage(e)} (${errorCode(e)})\n`);
    return EXIT_FAILURE;
  }
}

/**
 * Each layer's precision from IEngineInspector's JSON (ProfilingVerbosity::kDETAILED): a layer's
 * output tensors carry "Format/Datatype" such as "Int8 NC/32HW32"; its first word is the precision.
 */
export function layerPrecisions(json: string): Array<{ name: string; precision: string }> {
  let doc: { Layers?: Array<Record<string, unknown> | string> };
  try {
    doc = JSON.parse(json) as typeof doc;
  } catch {
    return [];
  }
  return (doc.Layers ?? []).map((layer) => {
    if (typeof layer === 'string') return { name: layer, precision: '?' };
    const outputs = Array.isArray(layer.Outputs) ? (layer.Outputs as Array<Record<string, unknown>>) : [];
    const format = String(outputs[0]?.['Format/Datatype'] ?? layer.Precision ?? '?');
    return { name: String(layer.Name ?? '?'), precision: format.split(/\s+/)[0]! };
  });
}
