import { DecodeError, ModelSpecError } from '../errors.js';
import type { TensorMap } from '../infer/backend.js';
import type { ModelSpec } from '../model/spec.js';
import type { InputTransform } from '../preprocess/preprocess.js';
import type { Candidate, Decoded, Decoder } from './decoder.js';
import { inputBoxToFrame } from './geometry.js';
import { nmsClassAware } from './nms.js';
import { outOfRange, scoreBounds, type ScoreBounds } from './range.js';
import { floatOutput } from './tensor.js';

type YoloSpec = Extract<ModelSpec['decoder'], { type: 'yolo' }>;

/**
 * Ultralytics YOLO detections. Two layouts:
 * - v8 (v8/11 exports): 1 x (4+nc[+mask coeffs]) x N, rows cx,cy,w,h in input pixels then
 *   sigmoided class scores, no objectness, no NMS in the graph. Each anchor takes its best class
 *   (Ultralytics' multi_label=False), then class-aware NMS.
 * - end2end (YOLOv10/YOLO26): 1 x N x 6 rows of x1,y1,x2,y2,score,class; the graph already chose.
 *
 * The v8 path runs every frame over N=8400 anchors x 80 classes, so it reads the class rows
 * contiguously (the tensor is class-major) into per-anchor buffers that live as long as the
 * decoder, thresholds first and only sorts and suppresses the survivors.
 */
export class YoloDecoder implements Decoder {
  readonly outputNames: readonly string[];
  private readonly cfg: YoloSpec;
  private readonly labels: readonly string[];
  private readonly bounds: ScoreBounds;
  private best = new Float32Array(0);
  private bestClass = new Int32Array(0);
  private order = new Int32Array(0);
  private boxes = new Float32Array(0);
  private classes = new Int32Array(0);
  private kept = new Int32Array(0);
  private readonly byScoreDesc = (a: number, b: number): number => this.best[b]! - this.best[a]!;

  constructor(spec: ModelSpec) {
    if (spec.decoder.type !== 'yolo') throw new ModelSpecError(`YoloDecoder given a ${spec.decoder.type} decoder spec`);
    this.cfg = spec.decoder;
    this.labels = spec.labels;
    this.bounds = scoreBounds(spec.scoreRange);
    this.outputNames = [spec.decoder.output];
  }

  decode(outputs: TensorMap, transform: InputTransform): Decoded {
    const candidates = this.cfg.layout === 'v8' ? this.decodeV8(outputs, transform) : this.decodeEnd2End(outputs, transform);
    let score = 0;
    for (const c of candidates) if (c.score > score) score = c.score;
    return { score, candidates, judge: 'candidates' };
  }

  private ensureCapacity(n: number): void {
    if (this.best.length >= n) return;
    this.best = new Float32Array(n);
    this.bestClass = new Int32Array(n);
    this.order = new Int32Array(n);
    this.boxes = new Float32Array(n * 4);
    this.classes = new Int32Array(n);
    this.kept = new Int32Array(n);
  }

  private decodeV8(outputs: TensorMap, transform: InputTransform): Candidate[] {
    const name = this.cfg.output;
    const { data, dims } = floatOutput(outputs, name);
    const nc = this.labels.length;
    const rows = 4 + nc + this.cfg.maskCoefficients;
    if (dims.length !== 3 || dims[0] !== 1 || dims[1] !== rows) {
      throw new DecodeError(
        `output "${name}" has shape [${dims.join(', ')}], expected [1, ${rows}, N] for a v8-layout YOLO with ${nc} labels` +
          (this.cfg.maskCoefficients ? ` and ${this.cfg.maskCoefficients} mask coefficients` : ''),
      );
    }
    const n = dims[2]!;
    this.ensureCapacity(n);
    const best = this.best;
    const bestClass = this.bestClass;
    const { lo, hi } = this.bounds;

    // Class 0 seeds the running maximum; every score is range-checked on the same pass.
    for (let c = 0; c < nc; c++) {
      const base = (4 + c) * n;
      if (c === 0) {
        for (let i = 0; i < n; i++) {
          const v = data[base + i]!;
          if (!(v >= lo && v <= hi)) throw this.rangeError(v, i, c);
          best[i] = v;
          bestClass[i] = 0;
        }
        continue;
      }
      for (let i = 0; i < n; i++) {
        const v = data[base + i]!;
        if (!(v >= lo && v <= hi)) throw this.rangeError(v, i, c);
        if (v > best[i]!) {
          best[i] = v;
          bestClass[i] = c;
        }
      }
    }

    const conf = this.cfg.candidateThreshold;
    let count = 0;
    for (let i = 0; i < n; i++) if (best[i]! >= conf) this.order[count++] = i;
    if (count === 0) return [];
    this.order.subarray(0, count).sort(this.byScoreDesc);

    const boxes = this.boxes;
    for (let k = 0; k < count; k++) {
      const i = this.order[k]!;
      const cx = data[i]!;
      const cy = data[n + i]!;
      const hw = data[2 * n + i]! / 2;
      const hh = data[3 * n + i]! / 2;
      boxes[k * 4] = cx - hw;
      boxes[k * 4 + 1] = cy - hh;
      boxes[k * 4 + 2] = cx + hw;
      boxes[k * 4 + 3] = cy + hh;
      this.classes[k] = bestClass[i]!;
    }
    const nKept = nmsClassAware(boxes, this.classes, count, this.cfg.iouThreshold, this.cfg.maxDetections, this.kept);

    const out: Candidate[] = [];
    for (let k = 0; k < nKept; k++) {
      const j = this.kept[k]!;
      const box = inputBoxToFrame(boxes[j * 4]!, boxes[j * 4 + 1]!, boxes[j * 4 + 2]!, boxes[j * 4 + 3]!, transform);
      if (!box) continue;
      out.push({ label: this.labels[this.classes[j]!]!, score: best[this.order[j]!]!, box, areaPx: box[2] * box[3] });
    }
    return out;
  }

  private decodeEnd2End(outputs: TensorMap, transform: InputTransform): Candidate[] {
    const name = this.cfg.output;
    const { data, dims } = floatOutput(outputs, name);
    if (dims.length !== 3 || dims[0] !== 1 || dims[2] !== 6) {
      throw new DecodeError(`output "${name}" has shape [${dims.join(', ')}], expected [1, N, 6] (x1, y1, x2, y2, score, class)`);
    }
    const n = dims[1]!;
    const nc = this.labels.length;
    const { lo, hi } = this.bounds;
    const out: Candidate[] = [];
    for (let i = 0; i < n; i++) {
      const o = i * 6;
      const score = data[o + 4]!;
      if (!(score >= lo && score <= hi)) throw outOfRange(name, `score of detection ${i}`, score, this.bounds);
      if (score < this.cfg.candidateThreshold) continue;
      const cls = data[o + 5]!;
      if (!Number.isInteger(cls) || cls < 0 || cls >= nc) {
        throw new DecodeError(`output "${name}": detection ${i} has class ${cls}, expected an integer in [0, ${nc}) for the model's ${nc} labels`);
      }
      const box = inputBoxToFrame(data[o]!, data[o + 1]!, data[o + 2]!, data[o + 3]!, transform);
      if (!box) continue;
      out.push({ label: this.labels[cls]!, score, box, areaPx: box[2] * box[3] });
    }
    // Exports emit their top-k sorted, but nothing in the format promises it.
    out.sort((a, b) => b.score - a.score);
    if (out.length > this.cfg.maxDetections) out.length = this.cfg.maxDetections;
    return out;
  }

  private rangeError(v: number, anchor: number, cls: number): Error {
    return outOfRange(this.cfg.output, `class score (anchor ${anchor}, class ${cls} "${this.labels[cls]}")`, v, this.bounds);
  }
}
