import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeOnnx } from '../../src/model/onnx/onnx-file.js';
import { keepFloat, quantisedConvs, TAIL_INPUTS } from '../../tools/model/keep-float.js';

/**
 * tools/model/keep-float.ts on the real magnetic-tile files, run by ONNX Runtime: keeping every
 * quantised Conv (and the tail's inputs) float gives back FP32's scores, so the rewiring puts the
 * FP32 weights and the unrounded activations exactly where they belong; keeping none changes no
 * byte; one kept Conv reads float and the rest stay INT8. And the shipped 1.2.0 INT8 file is the
 * 1.1.0 file with the six convolutions int8-sensitivity.json ranked first kept float.
 */
const dir = resolve(import.meta.dirname, '../../models/magnetic-tile');
const fp32 = readFileSync(resolve(dir, 'model.onnx'));
const shipped = readFileSync(resolve(dir, 'model.int8.onnx'));
const sensitivity = JSON.parse(readFileSync(resolve(dir, 'int8-sensitivity.json'), 'utf8')) as {
  cumulative: { k: number; kept: string[] }[];
};

/** A fixed pseudo-random tensor in the normalised input range (about -2.4 .. 3.1). */
function input(seed: number): ort.Tensor {
  const n = 224 * 224;
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = ((s >>> 8) / 2 ** 24) * 5.4 - 2.36;
  }
  return new ort.Tensor('float32', x, [1, 1, 224, 224]);
}

async function score(model: Uint8Array, seeds: number[]): Promise<number[]> {
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const out: number[] = [];
  for (const seed of seeds) out.push(Number(((await s.run({ input: input(seed) }))['pred_score']!.data as Float32Array)[0]));
  await s.release();
  return out;
}

describe('keep-float: named convolutions of a QDQ INT8 file computed in float', () => {
  const seeds = [1, 2, 3];
  const k6 = sensitivity.cumulative.find((c) => c.k === 6)!.kept;

  it('every Conv and the tail inputs kept float: FP32 scores, to float rounding', async () => {
    const convs = quantisedConvs(shipped);
    expect(convs.length).toBe(33 - 6);
    const all = keepFloat(shipped, fp32, [...convs, TAIL_INPUTS]);
    const g = decodeOnnx(all).graph as unknown as { node: { opType: string }[] };
    expect(g.node.some((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear')).toBe(false);
    const [a, b] = [await score(all, seeds), await score(fp32, seeds)];
    for (let i = 0; i < seeds.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
  }, 60_000);

  it('nothing kept: the same bytes; a name that is no Conv: refused', () => {
    expect(Buffer.compare(Buffer.from(keepFloat(shipped, fp32, [])), shipped)).toBe(0);
    expect(() => keepFloat(shipped, fp32, ['m0_/no/such/Conv'])).toThrow(/no Conv named/);
  });

  it('one Conv kept float: it reads float input and weights, the others stay INT8, the score moves', async () => {
    const layer = quantisedConvs(shipped)[0]!;
    const one = keepFloat(shipped, fp32, [layer]);
    expect(quantisedConvs(one)).toEqual(quantisedConvs(shipped).slice(1));
    const g = decodeOnnx(one).graph as unknown as { node: { name: string; opType: string; input: string[]; output: string[] }[] };
    const producer = new Map(g.node.flatMap((n) => n.output.map((o) => [o, n.opType] as const)));
    const conv = g.node.find((n) => n.name === layer)!;
    for (const i of conv.input) expect(producer.get(i)).not.toBe('DequantizeLinear');
    const [a, b] = [await score(one, seeds), await score(shipped, seeds)];
    expect(a.some((v, i) => v !== b[i])).toBe(true);
  }, 60_000);

  it('the shipped INT8 file keeps float exactly the six layers int8-sensitivity.json ranked first', () => {
    expect(k6).toHaveLength(6);
    const quantised = new Set(quantisedConvs(shipped));
    for (const layer of k6) expect(quantised.has(layer)).toBe(false);
    const g = decodeOnnx(shipped).graph as unknown as { node: { name: string; opType: string }[] };
    const convs = g.node.filter((n) => n.opType === 'Conv').map((n) => n.name);
    for (const layer of k6) expect(convs).toContain(layer);
  });
});
