import type { TensorMap } from '../infer/backend.js';
import { DecodeError, ModelSpecError } from '../errors.js';
import type { ModelSpec } from '../model/spec.js';
import type { InputTransform } from '../preprocess/preprocess.js';
import type { Candidate, Decoded, Decoder, InputRegion } from './decoder.js';
import { elementCount, floatOutput } from './tensor.js';
import { checkAllInRange, scoreBounds, type ScoreBounds } from './range.js';
import { iouXywh } from './nms.js';

type PatchClassifierSpec = Extract<ModelSpec['decoder'], { type: 'patch-classifier' }>;

/**
 * The golden-template kind's classifier output: `[N, 1 + labels]` class probabilities (softmax in
 * the graph), one row per candidate region the template stage cut a patch for. Each region becomes
 * a candidate named by its most likely defect class, scored by that class's probability (and one
 * more for each other class at least `minClassScore` probable, for the AP curve), so the verdict
 * rules' per-class thresholds decide, and a region the classifier calls nuisance falls below them. Rows past the regions (the blank patch of a frame with no difference) are ignored.
 */
export class PatchClassifierDecoder implements Decoder {
  readonly outputNames: readonly string[];
  private readonly cfg: PatchClassifierSpec;
  private readonly labels: readonly string[];
  private readonly bounds: ScoreBounds;
  /** [cell][column] factor (P(cell | class) / P(cell))^weight, when model.json gives decoder.topology. */
  private readonly topologyFactor?: number[][];

  constructor(spec: ModelSpec) {
    if (spec.decoder.type !== 'patch-classifier') throw new ModelSpecError(`model ${spec.name}: not a patch-classifier decoder`);
    this.cfg = spec.decoder;
    this.labels = spec.labels;
    if (this.cfg.nuisanceIndex > spec.labels.length) {
      throw new ModelSpecError(`model ${spec.name}: decoder.nuisanceIndex ${this.cfg.nuisanceIndex} is past the ${spec.labels.length + 1} output columns`);
    }
    this.bounds = scoreBounds(spec.scoreRange);
    this.outputNames = [this.cfg.output];
    if (this.cfg.topology) this.topologyFactor = topologyFactors(this.cfg.topology.counts, this.cfg.topology.weight);
  }

  decode(outputs: TensorMap, _transform: InputTransform, regions: readonly InputRegion[] = []): Decoded {
    const { data, dims } = floatOutput(outputs, this.cfg.output);
    const columns = this.labels.length + 1;
    if (dims.length !== 2 || dims[1] !== columns || elementCount(dims) !== data.length) {
      throw new DecodeError(`output "${this.cfg.output}" has dims [${dims.join(', ')}], expected [N, ${columns}] (nuisance + ${this.labels.length} labels)`);
    }
    if (dims[0]! < regions.length) throw new DecodeError(`output "${this.cfg.output}" has ${dims[0]} rows for ${regions.length} candidate regions`);
    checkAllInRange(this.cfg.output, 'probability', data.subarray(0, regions.length * columns), this.bounds);
    const candidates: Candidate[] = [];
    regions.forEach((region, i) => {
      const probs = this.regionProbabilities(data.subarray(i * columns, (i + 1) * columns), region);
      let best = -1;
      let bestP = -1;
      const row: Array<{ label: number; p: number }> = [];
      for (let c = 0, label = 0; c < columns; c++) {
        if (c === this.cfg.nuisanceIndex) continue;
        const p = probs[c]!;
        row.push({ label, p });
        if (p > bestP) {
          bestP = p;
          best = label;
        }
        label++;
      }
      for (const { label, p } of row) {
        if (label !== best && p < this.cfg.minClassScore) continue;
        if (region.minScore !== undefined && p < region.minScore) continue;
        candidates.push({ label: this.labels[label]!, score: p, box: region.box, areaPx: region.areaPx });
      }
    });
    candidates.sort((a, b) => b.score - a.score);
    const kept = this.cfg.nmsIou === undefined ? candidates : suppressOverlaps(candidates, this.cfg.nmsIou);
    return { score: kept[0]?.score ?? 0, candidates: kept, judge: 'candidates' };
  }

  /** The network's row, weighed by the region's topology cell when the model has a table for it. */
  private regionProbabilities(row: Float32Array, region: InputRegion): ArrayLike<number> {
    const factor = region.topology === undefined ? undefined : this.topologyFactor?.[region.topology];
    if (!factor) return row;
    const weighed = Array.from(row, (p, c) => p * factor[c]!);
    const sum = weighed.reduce((a, b) => a + b, 0);
    return sum > 0 ? weighed.map((p) => p / sum) : row;
  }
}

/**
 * Best score first, a candidate is dropped when its box overlaps a kept one of its class at IoU
 * above `over` (decoder.nmsIou; tools/template/score-candidates.ts chooses it out of fold).
 */
export function suppressOverlaps<T extends { label: string; score: number; box?: readonly number[] | undefined }>(candidates: readonly T[], over: number): T[] {
  const kept: T[] = [];
  for (const c of [...candidates].sort((a, b) => b.score - a.score)) {
    if (c.box && kept.some((k) => k.label === c.label && k.box !== undefined && iouXywh(k.box, c.box!) > over)) continue;
    kept.push(c);
  }
  return kept;
}

/** (P(cell | class) / P(cell))^weight from per-class cell counts, add-one smoothed: [cell][class]. */
export function topologyFactors(counts: readonly (readonly number[])[], weight: number): number[][] {
  const smoothed = counts.map((r) => r.map((n) => n + 1));
  const rowSums = smoothed.map((r) => r.reduce((a, b) => a + b, 0));
  const total = rowSums.reduce((a, b) => a + b, 0);
  const cells = smoothed[0]!.length;
  return Array.from({ length: cells }, (_, cell) => {
    const marginal = smoothed.reduce((a, r) => a + r[cell]!, 0) / total;
    return smoothed.map((r, c) => (r[cell]! / rowSums[c]! / marginal) ** weight);
  });
}


