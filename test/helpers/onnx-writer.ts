import { resolve } from 'node:path';
import protobuf from 'protobufjs';
import { repoRoot } from './model.js';

/**
 * Writes small real ONNX files for tests with the repository's one ONNX schema
 * (src/model/onnx/onnx.proto). ONNX Runtime loads and runs what this writes; `inspectd import`
 * reads it back.
 */
const root = protobuf.loadSync(resolve(repoRoot, 'src/model/onnx/onnx.proto'));
const Model = root.lookupType('onnx.ModelProto');

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
  type: { tensorType: { elemType: 1, shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
});

export function writeOnnx(g: TestGraph): Uint8Array {
  const msg = {
    irVersion: 8,
    producerName: 'inspectd-test',
    opsetImport: [{ domain: '', version: g.opset ?? 17 }],
    metadataProps: Object.entries(g.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'test',
      node: g.nodes.map((n, i) => ({
        input: n.inputs,
        output: n.outputs,
        name: `${n.op}_${i}`,
        opType: n.op,
        attribute: Object.entries(n.ints ?? {}).map(([name, i]) => ({ name, i, type: 2 })),
      })),
      initializer: (g.initializers ?? []).map((t) => ({ name: t.name, dims: t.dims, dataType: 1, floatData: t.values })),
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
  return Model.encode(Model.fromObject({ metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })) })).finish();
}
