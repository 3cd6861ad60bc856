import { basename, dirname, relative, resolve } from 'node:path';
import { ModelImportError } from '../../errors.js';
import { readOnnxInfo, type OnnxModelInfo } from '../onnx/model-info.js';
import { parseModelSpec, type ModelSpec } from '../spec.js';
import { importAnomalib, isAnomalib } from './anomalib.js';
import { importClassifier, type ClassifierOptions } from './classifier.js';
import type { Imported } from './imported.js';
import { dimsText } from './input.js';
import { importUltralytics, isUltralytics } from './ultralytics.js';

export type { Imported };

export interface ImportOptions extends ClassifierOptions {
  /** Where model.json will be written; file paths in it are relative to its folder. */
  out: string;
  name?: string;
  /** Anomalib's metadata.json, when it is not beside the .onnx. */
  metadata?: string;
  /** The INT8 (Q/DQ) twin of an FP32 file, or the FP32 twin of an INT8 file. */
  twin?: string;
  /** The verdict threshold, replacing the family's default (needed where the export has none). */
  threshold?: number;
  /** Self-test images written into model.json (relative to it). */
  selfTest?: string[];
}

const INT8_OPS = ['QuantizeLinear', 'DynamicQuantizeLinear', 'QLinearConv', 'ConvInteger', 'MatMulInteger', 'QLinearMatMul'];

export function isInt8(info: OnnxModelInfo): boolean {
  return INT8_OPS.some((op) => (info.ops[op] ?? 0) > 0);
}

/** The family an export belongs to, from its metadata and its outputs' names and shapes. */
function importFamily(info: OnnxModelInfo, file: string, opts: ImportOptions): Imported {
  if (isUltralytics(info)) return importUltralytics(info, file, opts);
  if (isAnomalib(info)) return importAnomalib(info, file, { ...opts, probabilitiesWithThreshold: opts.threshold !== undefined });
  if (info.outputs.length === 1) return importClassifier(info, file, opts);
  throw new ModelImportError(
    `${file}: not an export inspectd can describe. It has no Ultralytics metadata, no Anomalib pred_score/anomaly_map pair and ` +
      `${info.outputs.length} outputs (${info.outputs.map((o) => `${o.name} [${dimsText(o.dims)}]`).join(', ')}), so it is not a plain classifier either. ` +
      'docs/model-json.md describes writing model.json by hand',
  );
}

/**
 * The checked model.json for an ONNX export: the family's importer fills input, decoder, labels
 * and thresholds; this adds the files (and an INT8/FP32 twin), names it and validates the whole
 * through the one model.json schema, so what is written is what the daemon will accept.
 */
export function describeExport(file: string, opts: ImportOptions): { spec: ModelSpec; raw: Record<string, unknown>; imported: Imported; info: OnnxModelInfo } {
  const info = readOnnxInfo(file);
  const imported = importFamily(info, file, opts);
  const outDir = dirname(resolve(opts.out));
  const rel = (f: string) => relative(outDir, resolve(f)) || basename(f);
  const files: Record<string, string> = { [isInt8(info) ? 'int8' : 'fp32']: rel(file) };
  if (opts.twin) {
    const twinInfo = readOnnxInfo(opts.twin);
    const twinKind = isInt8(twinInfo) ? 'int8' : 'fp32';
    if (files[twinKind]) throw new ModelImportError(`${opts.twin} and ${file} are both ${twinKind}; the twin must be the other precision`);
    const sameIo = (a: OnnxModelInfo, b: OnnxModelInfo) =>
      JSON.stringify(a.inputs.map((i) => [i.name, i.dims])) === JSON.stringify(b.inputs.map((i) => [i.name, i.dims])) &&
      JSON.stringify(a.outputs.map((o) => o.name).sort()) === JSON.stringify(b.outputs.map((o) => o.name).sort());
    if (!sameIo(info, twinInfo)) throw new ModelImportError(`${opts.twin}: its inputs/outputs differ from ${file}'s; it is not the same model in another precision`);
    files[twinKind] = rel(opts.twin);
  }
  const md = info.metadata;
  const raw: Record<string, unknown> = {
    schema: 1,
    name: opts.name ?? basename(file).replace(/\.onnx$/i, '').replace(/\.int8$/i, ''),
    version: md['version'] ? `import-${md['version']}` : 'import-1',
    description: `imported by inspectd import from ${basename(file)} (${imported.kind}${info.producer ? `, ${info.producer}` : ''})${md['description'] ? `: ${md['description']}` : ''}`,
    files,
    // The daemon's default: INT8 when there is one (the file TensorRT and VNNI CPUs are fast with).
    defaultPrecision: files['int8'] ? 'int8' : 'fp32',
    ...imported.spec,
    ...(opts.threshold !== undefined ? { thresholds: { ...imported.spec.thresholds, default: opts.threshold, rule: 'given to inspectd import (--threshold)' } } : {}),
    scoreRange: [0, 1],
    ...(opts.selfTest && opts.selfTest.length > 0 ? { selfTest: opts.selfTest.map(rel) } : {}),
  };
  return { spec: parseModelSpec(raw, `${file} (imported)`), raw, imported, info };
}

