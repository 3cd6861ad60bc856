/**
 * Per-layer INT8 sensitivity of a QDQ model, measured where verdicts are decided: for every
 * quantised Conv, the INT8 file with that one Conv kept float (keep-float.ts) is run on a split's
 * tensors and its score compared with FP32's, per image, in logit units (a verdict flips when that
 * difference carries a score across the threshold). The layers whose float copy removes the most
 * error are the ones worth keeping float; then the k most sensitive are kept float together, k =
 * 1..--max-keep, and measured the same way. Run only on train/val tensors: the choice of k is made
 * from this table, and a held-out test set must not take part (issue 13).
 *
 *   node dist/src/cli/main.js tensors -m models/magnetic-tile/model.json --out val.npy --files-from val.txt
 *   node dist/tools/model/int8-sensitivity.js --spec models/magnetic-tile/model.json --tensors val.npy \
 *       [--near 2] [--max-keep 8] [--threads 1] [--json sens.json] [--write-dir DIR]
 * Measured on the images whose FP32 score is within --near logits of the threshold.
 * With --write-dir, the k-layer files are written there (k<N>.int8.onnx) for `inspectd eval`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModelSpec } from '../../src/model/spec.js';
import { keepFloat, quantisedConvs, TAIL_INPUTS } from './keep-float.js';
import { readNpyF32 } from './npy.js';

function arg(k: string, d?: string): string {
  const i = process.argv.indexOf(`--${k}`);
  const v = i >= 0 ? process.argv[i + 1] : d;
  if (v === undefined) throw new Error(`missing --${k}`);
  return v;
}

function subset(x: { data: Float32Array; shape: number[] }, idx: number[]): { data: Float32Array; shape: number[] } {
  const [, ...item] = x.shape;
  const n = item.reduce((a, b) => a * b, 1);
  const data = new Float32Array(idx.length * n);
  idx.forEach((i, j) => data.set(x.data.subarray(i * n, (i + 1) * n), j * n));
  return { data, shape: [idx.length, ...item] };
}

const logit = (p: number): number => {
  const q = Math.min(1 - 1e-7, Math.max(1e-7, p));
  return Math.log(q / (1 - q));
};

async function scores(model: Uint8Array, x: { data: Float32Array; shape: number[] }, inputName: string, scoreOutput: string, threads: number): Promise<number[]> {
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
  const [, ...item] = x.shape;
  const n = item.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let i = 0; i < x.shape[0]!; i++) {
    const t = new ort.Tensor('float32', x.data.subarray(i * n, (i + 1) * n), [1, ...item]);
    const r = await s.run({ [inputName]: t }, [scoreOutput]);
    out.push(Number((r[scoreOutput]!.data as Float32Array)[0]));
  }
  await s.release();
  return out;
}

interface Measure {
  /** RMS of logit(INT8) - logit(FP32) over every image measured */
  rmsAll: number;
  /** the same over those whose FP32 logit is within 1 of the threshold's */
  rmsNear: number;
  maxAbs: number;
  flips: number;
}

function measure(s8: number[], s32: number[], threshold: number): Measure {
  const lt = logit(threshold);
  let sa = 0;
  let sn = 0;
  let nn = 0;
  let maxAbs = 0;
  let flips = 0;
  for (let i = 0; i < s8.length; i++) {
    const d = logit(s8[i]!) - logit(s32[i]!);
    sa += d * d;
    maxAbs = Math.max(maxAbs, Math.abs(d));
    if (Math.abs(logit(s32[i]!) - lt) < 1) {
      sn += d * d;
      nn++;
    }
    if (s8[i]! >= threshold !== s32[i]! >= threshold) flips++;
  }
  const r = (x: number) => Math.round(x * 10000) / 10000;
  return { rmsAll: r(Math.sqrt(sa / s8.length)), rmsNear: r(nn ? Math.sqrt(sn / nn) : 0), maxAbs: r(maxAbs), flips };
}

async function main(): Promise<void> {
  const specPath = resolve(arg('spec'));
  const { spec } = loadModelSpec(specPath);
  if (spec.decoder.type !== 'anomaly-map') throw new Error('int8-sensitivity reads an anomaly-map model (pred_score)');
  const scoreOutput = spec.decoder.scoreOutput;
  const dir = dirname(specPath);
  const fp32 = readFileSync(join(dir, spec.files.fp32!));
  const int8 = readFileSync(join(dir, spec.files.int8!));
  const threshold = Number(arg('threshold', String(spec.thresholds.default)));
  const threads = Number(arg('threads', '1'));
  const maxKeep = Number(arg('max-keep', '8'));
  const near = Number(arg('near', '2'));
  const all = readNpyF32(arg('tensors'));
  const inputName = spec.input.name;
  const s32All = await scores(fp32, all, inputName, scoreOutput, threads);
  const shipped = measure(await scores(int8, all, inputName, scoreOutput, threads), s32All, threshold);
  console.error(`INT8 as shipped, all ${s32All.length} images: ${JSON.stringify(shipped)}`);
  // only images whose FP32 score is within `near` logits of the threshold can flip; the far ones
  // (most good tiles sit at logit -6 and below) would only slow the search and weigh in errors
  // that change no verdict
  const keepIdx = s32All.flatMap((p, i) => (Math.abs(logit(p) - logit(threshold)) < near ? [i] : []));
  const x = subset(all, keepIdx);
  const s32 = keepIdx.map((i) => s32All[i]!);
  const base = measure(await scores(int8, x, inputName, scoreOutput, threads), s32, threshold);
  console.error(`INT8 as shipped, ${s32.length} images within ${near} logits: ${JSON.stringify(base)}`);
  const layers: Array<{ layer: string } & Measure> = [];
  // --max-keep 0: only the file as it is (e.g. another calibration of the same model)
  for (const layer of maxKeep > 0 ? [...quantisedConvs(int8), TAIL_INPUTS] : []) {
    const m = measure(await scores(keepFloat(int8, fp32, [layer]), x, inputName, scoreOutput, threads), s32, threshold);
    layers.push({ layer, ...m });
    console.error(`${layer}: ${JSON.stringify(m)}`);
  }
  // most sensitive first: the layer whose float copy leaves the least error over all images
  const ranked = [...layers].sort((a, b) => a.rmsAll - b.rmsAll);
  const writeDir = process.argv.includes('--write-dir') ? arg('write-dir') : undefined;
  if (writeDir) mkdirSync(writeDir, { recursive: true });
  const cumulative: Array<{ k: number; kept: string[] } & Measure> = [];
  for (let k = 1; k <= Math.min(maxKeep, ranked.length); k++) {
    const kept = ranked.slice(0, k).map((l) => l.layer);
    const file = keepFloat(int8, fp32, kept);
    if (writeDir) writeFileSync(join(writeDir, `k${k}.int8.onnx`), file);
    const m = measure(await scores(file, x, inputName, scoreOutput, threads), s32, threshold);
    cumulative.push({ k, kept, ...m });
    console.error(`k=${k}: ${JSON.stringify(m)}`);
  }
  const report = { threshold, tensors: arg('tensors'), images: s32All.length, shippedAll: shipped, nearLogits: near, nearImages: s32.length, shipped: base, layers: ranked, cumulative };
  if (process.argv.includes('--json')) writeFileSync(arg('json'), JSON.stringify(report, null, 1) + '\n');
  console.log('k  rmsAll  rmsNear  maxAbs  flips');
  console.log(`0  ${base.rmsAll}  ${base.rmsNear}  ${base.maxAbs}  ${base.flips}`);
  for (const c of cumulative) console.log(`${c.k}  ${c.rmsAll}  ${c.rmsNear}  ${c.maxAbs}  ${c.flips}  +${c.kept[c.kept.length - 1]}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
