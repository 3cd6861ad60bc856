import { DecodeError, ModelSpecError } from '../errors.js';
import type { TensorMap } from '../infer/backend.js';
import type { ModelSpec } from '../model/spec.js';
import type { Candidate, Decoded, Decoder } from './decoder.js';
import { checkAllInRange, scoreBounds, type ScoreBounds } from './range.js';
import { elementCount, floatOutput } from './tensor.js';

type ClassificationSpec = Extract<ModelSpec['decoder'], { type: 'classification' }>;

/**
 * A whole-part classifier: one score per label, no location.
 * - softmax (or 'none' with the good label present): the classes compete, so the part score is
 *   1 - p(good);
 * - sigmoid (or 'none' without a good label): independent per-label probabilities, so the part
 *   score is the most likely defect, max over non-good labels.
 * A single-value output over two labels (good + one defect) is read as p(defect label).
 */
export class ClassificationDecoder implements Decoder {
  readonly outputNames: readonly string[];
  private readonly cfg: ClassificationSpec;
  private readonly labels: readonly string[];
  private readonly goodIndex: number;
  private readonly bounds: ScoreBounds;
  private readonly probs: Float64Array;
  private readonly competing: boolean;

  constructor(spec: ModelSpec) {
    if (spec.decoder.type !== 'classification') {
      throw new ModelSpecError(`ClassificationDecoder given a ${spec.decoder.type} decoder spec`);
    }
    this.cfg = spec.decoder;
    this.labels = spec.labels;
    this.goodIndex = spec.labels.indexOf(spec.decoder.goodLabel);
    if (this.cfg.activation === 'softmax' && this.goodIndex < 0) {
      throw new ModelSpecError(
        `model ${spec.name}: softmax classification needs its good label "${this.cfg.goodLabel}" among labels [${spec.labels.join(', ')}] (decoder.goodLabel)`,
      );
    }
    this.competing = this.cfg.activation === 'softmax' || (this.cfg.activation === 'none' && this.goodIndex >= 0);
    this.bounds = scoreBounds(spec.scoreRange);
    this.outputNames = [this.cfg.output];
    this.probs = new Float64Array(spec.labels.length);
  }

  decode(outputs: TensorMap): Decoded {
    const name = this.cfg.output;
    const { data, dims } = floatOutput(outputs, name);
    const k = this.labels.length;
    const n = elementCount(dims);
    const probs = this.probs;
    if (n === 1 && k === 2 && this.cfg.activation !== 'softmax' && this.goodIndex >= 0) {
      const p = this.cfg.activation === 'sigmoid' ? sigmoid(data[0]!) : data[0]!;
      probs[1 - this.goodIndex] = p;
      probs[this.goodIndex] = 1 - p;
    } else if (n === k) {
      if (this.cfg.activation === 'softmax') softmax(data, probs);
      else if (this.cfg.activation === 'sigmoid') for (let i = 0; i < k; i++) probs[i] = sigmoid(data[i]!);
      else for (let i = 0; i < k; i++) probs[i] = data[i]!;
    } else {
      throw new DecodeError(`output "${name}" has ${n} values (shape [${dims.join(', ')}]), expected one per label (${k})`);
    }
    checkAllInRange(name, 'probability', probs, this.bounds);

    const candidates: Candidate[] = [];
    let maxDefect = 0;
    for (let i = 0; i < k; i++) {
      if (i === this.goodIndex) continue;
      const p = probs[i]!;
      if (p > maxDefect) maxDefect = p;
      candidates.push({ label: this.labels[i]!, score: p });
    }
    candidates.sort((a, b) => b.score - a.score);
    const score = this.competing ? clamp01(1 - probs[this.goodIndex]!) : maxDefect;
    return { score, candidates, judge: 'part', partLabel: candidates[0]?.label ?? 'defect' };
  }
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function softmax(logits: Float32Array, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < out.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < out.length; i++) {
    const e = Math.exp(logits[i]! - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
