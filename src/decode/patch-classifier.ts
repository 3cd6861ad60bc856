import type { TensorMap } from '../infer/backend.js';
import { DecodeError, ModelSpecError } from '../errors.js';
import type { ModelSpec } from '../model/spec.js';
import type { InputTransform } from '../preprocess/preprocess.js';
import type { Candidate, Decoded, Decoder, InputRegion } from './decoder.js';
import { elementCount, floatOutput } from './tensor.js';
import { checkAllInRange, scoreBounds, type ScoreBounds } from './range.js';

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

  constructor(spec: ModelSpec) {
    if (spec.decoder.type !== 'patch-classifier') throw new ModelSpecError(`model ${spec.name}: not a patch-classifier decoder`);
    this.cfg = spec.decoder;
    this.labels = spec.labels;
    if (this.cfg.nuisanceIndex > spec.labels.length) {
      throw new ModelSpecError(`model ${spec.name}: decoder.nuisanceIndex ${this.cfg.nuisanceIndex} is past the ${spec.labels.length + 1} output columns`);
    }
    this.bounds = scoreBounds(spec.scoreRange);
    this.outputNames = [this.cfg.output];
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
      let best = -1;
      let bestP = -1;
      const row: Array<{ label: number; p: number }> = [];
      for (let c = 0, label = 0; c < columns; c++) {
        if (c === this.cfg.nuisanceIndex) continue;
        const p = data[i * columns + c]!;
        row.push({ label, p });
        if (p > bestP) {
          bestP = p;
          best = label;
        }
        label++;
      }
      for (const { label, p } of row) {
        if (label !== best && p < this.cfg.minClassScore) continue;
        candidates.push({ label: this.labels[label]!, score: p, box: region.box, areaPx: region.areaPx });
      }
    });
    candidates.sort((a, b) => b.score - a.score);
    return { score: candidates[0]?.score ?? 0, candidates, judge: 'candidates' };
  }
}


