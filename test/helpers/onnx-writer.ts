import protobuf from 'protobufjs';

/**
 * Writes small real ONNX files for tests: the onnx.proto fields (same numbers as
 * github.com/onnx/onnx onnx/onnx.proto) a graph of a few nodes with initializers needs. ONNX
 * Runtime loads and runs what this writes; src/model/onnx-file.ts reads it back.
 */
const PROTO = `
syntax = "proto2";
package w;
message StringStringEntryProto { optional string key = 1; optional string value = 2; }
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message AttributeProto { optional string name = 1; optional int64 i = 3; repeated int64 ints = 8; optional int32 type = 20; }
message TensorProto { repeated int64 dims = 1; optional int32 data_type = 2; repeated float float_data = 4 [packed = true]; optional string name = 8; }
message TensorShapeProto { message Dimension { optional int64 dim_value = 1; optional string dim_param = 2; } repeated Dimension dim = 1; }
message TypeProto { message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; } optional Tensor tensor_type = 1; }
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
message NodeProto { repeated string input = 1; repeated string output = 2; optional string name = 3; optional string op_type = 4; repeated AttributeProto attribute = 5; }
message GraphProto { repeated NodeProto node = 1; optional string name = 2; repeated TensorProto initializer = 5; repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; }
message ModelProto { optional int64 ir_version = 1; optional string producer_name = 2; optional GraphProto graph = 7; repeated OperatorSetIdProto opset_import = 8; repeated StringStringEntryProto metadata_props = 14; }
`;
const root = protobuf.parse(PROTO, { keepCase: true }).root;
const Model = root.lookupType('w.ModelProto');

export interface TestNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes (e.g. keepdims: 0). */
  ints?: Record<string, number>;
}

export interface TestGraph {
  inputs: Array<{ name: string; dims: Array<number | string> }>;
  outputs: Array<{ name: string; dims: Array<number | string> }>;
  initializers?: Array<{ name: string; dims: number[]; values: number[] }>;
  nodes: TestNode[];
  metadata?: Record<string, string>;
  opset?: number;
}

const valueInfo = (v: { name: string; dims: Array<number | string> }) => ({
  name: v.name,
  type: { tensor_type: { elem_type: 1, shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
});

export function writeOnnx(g: TestGraph): Uint8Array {
  const msg = {
    ir_version: 8,
    producer_name: 'inspectd-test',
    opset_import: [{ domain: '', version: g.opset ?? 17 }],
    metadata_props: Object.entries(g.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'test',
      node: g.nodes.map((n, i) => ({
        input: n.inputs,
        output: n.outputs,
        name: `${n.op}_${i}`,
        op_type: n.op,
        attribute: Object.entries(n.ints ?? {}).map(([name, i]) => ({ name, i, type: 2 })),
      })),
      initializer: (g.initializers ?? []).map((t) => ({ name: t.name, dims: t.dims, data_type: 1, float_data: t.values })),
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
    },
  };
  return Model.encode(Model.fromObject(msg)).finish();
}

/**
 * metadata_props entries encoded alone. Protobuf merges a message's repeated fields across
 * concatenated encodings, so an existing ONNX file's bytes followed by these are that model
 * with the entries added (a later key wins when read): how Anomalib-style metadata is put into
 * a real export without re-serialising its weights.
 */
export function metadataSuffix(metadata: Record<string, string>): Uint8Array {
  return Model.encode(Model.fromObject({ metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })) })).finish();
}
