import { ModelImportError } from '../../errors.js';
import { readOnnx, type OnnxModel } from './onnx-file.js';

/**
 * What an ONNX export says about itself from outside, for `inspectd import`: producer, opsets, its
 * metadata_props (where Ultralytics writes names, imgsz and task, and where Anomalib's
 * normalisation may be), the graph's inputs and outputs with their shapes, and which ops it has.
 * Read with the one ONNX schema (onnx.proto beside onnx-file.ts); no Python `onnx` on the edge box.
 */

/** A dimension: its size, or the symbolic name of a dynamic one ('batch', 'height'), or null if neither. */
export type OnnxDim = number | string | null;

export interface OnnxTensorInfo {
  name: string;
  /** onnx.proto TensorProto.DataType: 1 float, 10 float16, 7 int64, ... */
  elemType: number;
  dims: OnnxDim[];
}

export interface OnnxModelInfo {
  irVersion: number;
  producer: string;
  opsets: Record<string, number>;
  metadata: Record<string, string>;
  inputs: OnnxTensorInfo[];
  outputs: OnnxTensorInfo[];
  /** How many nodes of each op type (QuantizeLinear present = QDQ INT8). */
  ops: Record<string, number>;
  /** op_type of the node that produces each graph output (Sigmoid, Softmax, Concat...). */
  outputProducers: Record<string, string>;
}

export const ONNX_FLOAT = 1;
const ELEM_NAMES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64', 16: 'bfloat16' };
export function elemTypeName(t: number): string {
  return ELEM_NAMES[t] ?? `type ${t}`;
}

type Int = number | { toNumber(): number } | undefined;
const num = (v: Int): number => (v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());

/** The fields of the decoded message this reads beyond what onnx-file.ts's OnnxModel names. */
interface DecodedModel {
  irVersion?: Int;
  producerName?: string;
  producerVersion?: string;
  opsetImport?: Array<{ domain?: string; version?: Int }>;
  metadataProps?: Array<{ key?: string; value?: string }>;
  graph?: {
    node?: Array<{ opType?: string; output?: string[] }>;
    input?: ValueInfo[];
    output?: ValueInfo[];
    initializer?: Array<{ name?: string }>;
  };
}
interface ValueInfo {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: Array<{ dimValue?: Int; dimParam?: string }> } } };
}

function tensorInfo(v: ValueInfo): OnnxTensorInfo {
  const t = v.type?.tensorType;
  const dims = (t?.shape?.dim ?? []).map((d): OnnxDim => (d.dimParam ? d.dimParam : d.dimValue !== undefined ? num(d.dimValue) : null));
  return { name: v.name ?? '', elemType: t?.elemType ?? 0, dims };
}

/** Reads an ONNX file's description (not its weights). Throws when it is not ONNX. */
export function readOnnxInfo(file: string): OnnxModelInfo {
  return onnxInfo(readOnnx(file), file);
}

export function onnxInfo(model: OnnxModel, file: string): OnnxModelInfo {
  const raw = model as unknown as DecodedModel;
  if (!raw.graph || num(raw.irVersion) <= 0) throw new ModelImportError(`${file} is not an ONNX model (no IR version or no graph)`);
  const metadata: Record<string, string> = {};
  // A key given twice: the later entry wins (as when entries are appended to an export).
  for (const p of raw.metadataProps ?? []) if (p.key) metadata[p.key] = p.value ?? '';
  const opsets: Record<string, number> = {};
  for (const o of raw.opsetImport ?? []) opsets[o.domain || 'ai.onnx'] = num(o.version);
  const ops: Record<string, number> = {};
  const producers = new Map<string, string>();
  for (const n of raw.graph.node ?? []) {
    const op = n.opType ?? '?';
    ops[op] = (ops[op] ?? 0) + 1;
    for (const out of n.output ?? []) producers.set(out, op);
  }
  // Old exporters list initializers among the inputs; they are weights, not inputs to feed.
  const weights = new Set((raw.graph.initializer ?? []).map((t) => t.name));
  const inputs = (raw.graph.input ?? []).filter((v) => !weights.has(v.name)).map(tensorInfo);
  const outputs = (raw.graph.output ?? []).map(tensorInfo);
  const outputProducers: Record<string, string> = {};
  for (const o of outputs) outputProducers[o.name] = producers.get(o.name) ?? 'none';
  return {
    irVersion: num(raw.irVersion),
    producer: [raw.producerName, raw.producerVersion].filter(Boolean).join(' '),
    opsets,
    metadata,
    inputs,
    outputs,
    ops,
    outputProducers,
  };
}
