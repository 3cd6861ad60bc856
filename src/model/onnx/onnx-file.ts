import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { ModelLoadError } from '../../errors.js';
import { sourceAsset } from '../../util/source-asset.js';

/**
 * An ONNX file read as data, without ONNX Runtime: what its inputs look like and a rewrite of its
 * batch dimension. The schema is ONNX's own (onnx.proto beside this file, the fields inspectd
 * touches); a decode and re-encode of the shipped models gives back the same bytes.
 */

export interface OnnxDim {
  value?: number;
  param?: string;
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  dims: OnnxDim[];
}

/** The decoded message, as protobufjs gives it (field names in camelCase). */
export interface OnnxModel {
  graph: { node: OnnxNode[]; input: ValueInfoMsg[]; output: ValueInfoMsg[]; valueInfo: ValueInfoMsg[]; initializer: { name: string }[] };
  metadataProps?: { key: string; value: string }[];
}
interface OnnxNode {
  opType: string;
  input: string[];
  attribute: { name: string; i?: number | { toNumber(): number }; ints?: unknown[] }[];
}
interface ValueInfoMsg {
  name: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim: { dimValue?: number | { toNumber(): number }; dimParam?: string }[] } } };
}

let modelType: protobuf.Type | undefined;
function schema(): protobuf.Type {
  modelType ??= protobuf.loadSync(sourceAsset(import.meta.url, 'onnx.proto')).lookupType('onnx.ModelProto');
  return modelType;
}

export function decodeOnnx(bytes: Uint8Array, what = 'ONNX model'): OnnxModel {
  try {
    return schema().decode(bytes) as unknown as OnnxModel;
  } catch (err) {
    throw new ModelLoadError(`${what} is not an ONNX file: ${(err as Error).message}`, { cause: err });
  }
}

export function readOnnx(file: string): OnnxModel {
  return decodeOnnx(readFileSync(file), file);
}

export function encodeOnnx(model: OnnxModel): Uint8Array {
  return schema().encode(model as never).finish();
}

function num(v: number | { toNumber(): number } | undefined): number | undefined {
  return v === undefined ? undefined : typeof v === 'number' ? v : v.toNumber();
}

function valueInfo(v: ValueInfoMsg): OnnxValueInfo {
  const t = v.type?.tensorType;
  const dims = (t?.shape?.dim ?? []).map((d): OnnxDim => (d.dimParam ? { param: d.dimParam } : { value: num(d.dimValue) ?? 0 }));
  return { name: v.name, elemType: t?.elemType ?? 0, dims };
}

/** The graph's real inputs (initializers listed as inputs by old exporters left out) and outputs. */
export function onnxIo(model: OnnxModel): { inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[] } {
  const weights = new Set(model.graph.initializer.map((t) => t.name));
  return {
    inputs: model.graph.input.filter((v) => !weights.has(v.name)).map(valueInfo),
    outputs: model.graph.output.map(valueInfo),
  };
}

/** 'dynamic' when every input's first dimension is symbolic, else the fixed batch size. */
export function batchOf(model: OnnxModel): 'dynamic' | number {
  const first = onnxIo(model).inputs.map((i) => i.dims[0]);
  if (first.length > 0 && first.every((d) => d?.param !== undefined || d?.value === -1)) return 'dynamic';
  return first[0]?.value ?? 1;
}

/**
 * Operators that keep the batch axis apart from the others whatever their attributes say are safe to
 * re-batch. A graph with anything that may mix or fix it (Reshape to a constant shape, Gather on
 * axis 0, a Flatten at axis 0, ...) is refused rather than rewritten: a wrong guess there would not
 * fail, it would silently mix the parts of one batch into each other's verdicts.
 */
const BATCH_SAFE_OPS = new Set([
  'Conv', 'ConvTranspose', 'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Silu', 'Mish', 'Elu', 'Clip',
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sqrt', 'Exp', 'Log', 'Neg', 'Abs', 'Erf', 'Identity', 'Cast',
  'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'BatchNormalization', 'InstanceNormalization',
  'QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'Gemm', 'MatMul', 'Softmax', 'Upsample', 'Resize', 'Dropout',
]);

/**
 * The same graph with a symbolic batch dimension on its inputs, outputs and intermediate shapes, so
 * one run can carry the frames of several cameras. Refuses (with the operators that stop it) a graph
 * whose operators could depend on the batch being 1.
 */
export function withDynamicBatch(model: OnnxModel, what = 'ONNX model'): Uint8Array {
  const blocking = new Set<string>();
  for (const n of model.graph.node) {
    if (BATCH_SAFE_OPS.has(n.opType)) continue;
    if (n.opType === 'Flatten' || n.opType === 'Concat' || n.opType === 'Softmax') {
      const axis = num(n.attribute.find((a) => a.name === 'axis')?.i) ?? (n.opType === 'Flatten' ? 1 : 0);
      if (axis >= 1) continue;
    }
    blocking.add(n.opType);
  }
  if (blocking.size > 0) {
    throw new ModelLoadError(`${what} cannot be batched: its graph has ${[...blocking].sort().join(', ')}, which may depend on a batch of 1 (export it with a dynamic batch axis instead)`);
  }
  for (const v of [...model.graph.input, ...model.graph.output, ...model.graph.valueInfo]) {
    const dims = v.type?.tensorType?.shape?.dim;
    if (dims && dims.length > 0) dims[0] = { dimParam: 'batch' };
  }
  return encodeOnnx(model);
}
