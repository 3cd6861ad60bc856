/**
 * Mixed precision for a QDQ INT8 file: keep named convolutions in float, everything else as it was
 * quantised (issue 13). For each kept Conv the graph is rewired so that it reads its input before
 * the QuantizeLinear/DequantizeLinear pair, takes its weight and bias from the FP32 file (the
 * original values, not the 7-bit-rounded ones), and its output reaches its consumers without a
 * Q/DQ pair; ONNX Runtime then finds no DQ->Conv->Q pattern there and runs that Conv in float,
 * while the tensors other INT8 layers read stay quantised exactly as calibrated. Nodes and
 * initializers nothing reads any more are dropped. This is editing, not re-calibration: it needs
 * no Python, so it runs on the deployment CPU with the daemon's own ONNX Runtime.
 *
 *   node dist/tools/model/keep-float.js --int8 models/magnetic-tile/model.int8.onnx \
 *       --fp32 models/magnetic-tile/model.onnx --keep 'm1_/deep/deep.3/deep.3.0/Conv,...' --out OUT.onnx
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeOnnx, encodeOnnx } from '../../src/model/onnx/onnx-file.js';

interface Node {
  name: string;
  opType: string;
  input: string[];
  output: string[];
}
interface Tensor {
  name: string;
}
interface Graph {
  node: Node[];
  initializer: Tensor[];
  output: { name: string }[];
}
interface Model {
  graph: Graph;
}

const decode = (bytes: Uint8Array): Model => decodeOnnx(bytes) as unknown as Model;

/** The quantised Convs of a QDQ graph (those whose weight comes through a DequantizeLinear). */
export function quantisedConvs(int8: Uint8Array): string[] {
  const g = decode(int8).graph;
  const producer = new Map(g.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
  return g.node.filter((n) => n.opType === 'Conv' && producer.get(n.input[1] ?? '')?.opType === 'DequantizeLinear').map((n) => n.name);
}

/**
 * In `keep`, not a Conv: every node that is neither a Conv left INT8 nor a Q/DQ itself reads its
 * inputs from before the Q/DQ pair rather than the 8-bit copy. That is the head tail quantize.py
 * leaves float (pools, the map's last 1x1 Conv: no activation rounding before the logits), and also
 * every other such node of the graph (residual Adds, pools between INT8 layers), which then take
 * float inputs too. An option of the sensitivity study only: 1.2.0 does not use it (its six kept
 * layers are Convs, int8-sensitivity.json `cumulative` k = 6).
 */
export const TAIL_INPUTS = 'float-tail-inputs';

/** The INT8 file with the named Convs computing in float; throws on a name it does not find. */
export function keepFloat(int8: Uint8Array, fp32: Uint8Array, keep: readonly string[]): Uint8Array {
  const model = decode(int8);
  const g = model.graph;
  const floatInit = new Map(decode(fp32).graph.initializer.map((t) => [t.name, t]));
  const producer = () => new Map(g.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
  let prod = producer();
  const haveInit = new Set(g.initializer.map((t) => t.name));

  // the float tensor behind a DQ(Q(x)) pair, or undefined if `t` is not one
  const beforePair = (t: string): string | undefined => {
    const dq = prod.get(t);
    if (dq?.opType !== 'DequantizeLinear') return undefined;
    const q = prod.get(dq.input[0]!);
    return q?.opType === 'QuantizeLinear' ? q.input[0] : undefined;
  };
  // the original float initializer behind DQ(name_quantized)
  const floatWeight = (t: string): string => {
    const dq = prod.get(t);
    if (dq?.opType !== 'DequantizeLinear') return t;
    const orig = dq.input[0]!.replace(/_quantized$/, '');
    const init = floatInit.get(orig);
    if (!init) throw new Error(`no float initializer ${orig} in the FP32 file (for ${t})`);
    // a new name: the quantiser names a bias's DequantizeLinear output after the float bias
    const name = `${orig}_fp32`;
    if (!haveInit.has(name)) {
      g.initializer.push({ ...init, name });
      haveInit.add(name);
    }
    return name;
  };

  const convs = new Set(quantisedConvs(int8));
  for (const name of keep) {
    if (name === TAIL_INPUTS) continue;
    const conv = g.node.find((n) => n.name === name && n.opType === 'Conv');
    if (!conv) throw new Error(`no Conv named ${name} in the INT8 file`);
    conv.input[0] = beforePair(conv.input[0]!) ?? conv.input[0]!;
    for (let i = 1; i < conv.input.length; i++) if (conv.input[i]) conv.input[i] = floatWeight(conv.input[i]!);
    // the conv's own output: consumers of DQ(Q(out)) read `out` itself
    const out = conv.output[0]!;
    for (const n of g.node) {
      for (let i = 0; i < n.input.length; i++) {
        if (beforePair(n.input[i]!) === out) n.input[i] = out;
      }
    }
    prod = producer();
    convs.delete(name);
  }
  if (keep.includes(TAIL_INPUTS)) {
    // every node that is not an INT8 Conv (and not a Q/DQ itself) reads float
    for (const n of g.node) {
      if (convs.has(n.name) || n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') continue;
      for (let i = 0; i < n.input.length; i++) n.input[i] = beforePair(n.input[i]!) ?? n.input[i]!;
    }
  }
  prune(g);
  return encodeOnnx(model as never);
}

/** Drop nodes whose outputs nothing reads (back from the graph outputs), then unread initializers. */
function prune(g: Graph): void {
  const needed = new Set(g.output.map((o) => o.name));
  const kept: Node[] = [];
  for (const n of [...g.node].reverse()) {
    if (n.output.some((o) => needed.has(o))) {
      kept.push(n);
      for (const i of n.input) if (i) needed.add(i);
    }
  }
  g.node = kept.reverse();
  g.initializer = g.initializer.filter((t) => needed.has(t.name));
}

function arg(k: string): string {
  const i = process.argv.indexOf(`--${k}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (v === undefined) throw new Error(`missing --${k}`);
  return v;
}

if (process.argv[1]?.endsWith('keep-float.js')) {
  const keep = arg('keep').split(',').filter(Boolean);
  writeFileSync(arg('out'), keepFloat(readFileSync(arg('int8')), readFileSync(arg('fp32')), keep));
  console.log(JSON.stringify({ out: arg('out'), keptFloat: keep }));
}
