import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { ModelLoadError } from '../errors.js';

/**
 * The parts of onnx.proto (github.com/onnx/onnx, onnx/onnx.proto, IR version 3+) that describe a
 * model from outside: its producer, its metadata_props (where Ultralytics writes names, imgsz and
 * task), opsets, the graph's inputs and outputs with their shapes, and the node types. Field
 * numbers are onnx.proto's; every field left out (initializers above all, which are most of the
 * bytes) is skipped by the decoder, so reading a 10 MB model costs about one pass over its bytes.
 * No Python `onnx` on the edge box: this is the one ONNX parser inspectd has.
 */
export const ONNX_PROTO_SUBSET = `
syntax = "proto2";
package onnx;
message StringStringEntryProto { optional string key = 1; optional string value = 2; }
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message TensorShapeProto {
  message Dimension { optional int64 dim_value = 1; optional string dim_param = 2; }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; }
  optional Tensor tensor_type = 1;
}
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
message NodeProto { optional string name = 3; optional string op_type = 4; optional string domain = 7; }
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
}
`;

let root: protobuf.Root | undefined;
/** The subset's message types, parsed once. Tests use them to write ONNX files too. */
export function onnxTypes(): protobuf.Root {
  root ??= protobuf.parse(ONNX_PROTO_SUBSET, { keepCase: true }).root;
  return root;
}

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

interface RawDim { dim_value?: number | protobuf.Long; dim_param?: string }
interface RawValueInfo { name?: string; type?: { tensor_type?: { elem_type?: number; shape?: { dim?: RawDim[] } } } }
interface RawModel {
  ir_version?: number | protobuf.Long;
  producer_name?: string;
  producer_version?: string;
  graph?: { node?: Array<{ op_type?: string; output?: string[] }>; input?: RawValueInfo[]; output?: RawValueInfo[] };
  opset_import?: Array<{ domain?: string; version?: number | protobuf.Long }>;
  metadata_props?: Array<{ key?: string; value?: string }>;
}

function toNumber(v: number | protobuf.Long | undefined): number {
  if (v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v.toString());
}

function tensorInfo(v: RawValueInfo): OnnxTensorInfo {
  const t = v.type?.tensor_type;
  const dims = (t?.shape?.dim ?? []).map((d): OnnxDim => {
    if (d.dim_param) return d.dim_param;
    return d.dim_value !== undefined ? toNumber(d.dim_value) : null;
  });
  return { name: v.name ?? '', elemType: t?.elem_type ?? 0, dims };
}

/** Reads an ONNX file's description (not its weights). Throws ModelLoadError when it is not ONNX. */
export function readOnnxInfo(file: string): OnnxModelInfo {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new ModelLoadError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseOnnxInfo(bytes, file);
}

export function parseOnnxInfo(bytes: Uint8Array, file: string): OnnxModelInfo {
  // NodeProto.output (field 2) is read separately: the subset keeps NodeProto small, and the
  // output names are only needed to know which op ends each graph output.
  const Model = onnxTypes().lookupType('onnx.ModelProto');
  let raw: RawModel;
  try {
    const NodeWithOutputs = onnxTypes().lookupType('onnx.NodeProto');
    if (!NodeWithOutputs.fields['output']) NodeWithOutputs.add(new protobuf.Field('output', 2, 'string', 'repeated'));
    raw = Model.toObject(Model.decode(bytes), { defaults: false, arrays: true }) as RawModel;
  } catch (err) {
    throw new ModelLoadError(`${file} is not an ONNX model (its protobuf does not decode: ${(err as Error).message})`, { cause: err });
  }
  if (!raw.graph || toNumber(raw.ir_version) <= 0) {
    throw new ModelLoadError(`${file} is not an ONNX model (no IR version or no graph)`);
  }
  const metadata: Record<string, string> = {};
  for (const p of raw.metadata_props ?? []) if (p.key) metadata[p.key] = p.value ?? '';
  const opsets: Record<string, number> = {};
  for (const o of raw.opset_import ?? []) opsets[o.domain || 'ai.onnx'] = toNumber(o.version);
  const ops: Record<string, number> = {};
  const producers = new Map<string, string>();
  for (const n of raw.graph.node ?? []) {
    const op = n.op_type ?? '?';
    ops[op] = (ops[op] ?? 0) + 1;
    for (const out of n.output ?? []) producers.set(out, op);
  }
  const inputs = (raw.graph.input ?? []).map(tensorInfo);
  const outputs = (raw.graph.output ?? []).map(tensorInfo);
  const outputProducers: Record<string, string> = {};
  for (const o of outputs) outputProducers[o.name] = producers.get(o.name) ?? 'none';
  return {
    irVersion: toNumber(raw.ir_version),
    producer: [raw.producer_name, raw.producer_version].filter(Boolean).join(' '),
    opsets,
    metadata,
    inputs,
    outputs,
    ops,
    outputProducers,
  };
}
