import { DecodeError, ModelSpecError } from '../errors.js';
import type { TensorMap } from '../infer/backend.js';
import type { ModelSpec } from '../model/spec.js';
import type { InputTransform } from '../preprocess/preprocess.js';
import { connectedRegions, type MapRegion } from './components.js';
import type { Candidate, Decoded, Decoder } from './decoder.js';
import { mapOnFrame } from './frame-map.js';
import { clamp, inputBoxToFrame } from './geometry.js';
import { checkAllInRange, scoreBounds, type ScoreBounds } from './range.js';
import { elementCount, floatOutput } from './tensor.js';

type AnomalySpec = Extract<ModelSpec['decoder'], { type: 'anomaly-map' }>;

/**
 * Anomalib's export layout: `pred_score` (one value) and `anomaly_map` ([1,1,h,w] or [1,h,w]).
 * With Anomalib's min-max metadata both are normalised so that each threshold lands on 0.5:
 * clamp((x - threshold) / (max - min) + 0.5, 0, 1), the image threshold for the score and the
 * pixel threshold for the map. Without it the model must already emit [0, 1] (our own models do).
 *
 * Regions are connected components of map cells >= pixelThreshold, mapped cell -> input pixels ->
 * frame pixels. The part score stays the image-level decision, as Anomalib calibrates it; regions
 * say where, so ROI and ignore masks can veto (judge: 'part').
 */
export class AnomalyMapDecoder implements Decoder {
  readonly outputNames: readonly string[];
  private readonly cfg: AnomalySpec;
  private readonly bounds: ScoreBounds;
  private readonly inputWidth: number;
  private readonly inputHeight: number;
  private map = new Float32Array(0);
  private labels = new Int32Array(0);
  private stack = new Int32Array(0);
  private colWidth = new Float64Array(0);
  private rowHeight = new Float64Array(0);

  constructor(spec: ModelSpec) {
    if (spec.decoder.type !== 'anomaly-map') throw new ModelSpecError(`AnomalyMapDecoder given a ${spec.decoder.type} decoder spec`);
    const norm = spec.decoder.normalization;
    if (norm && !(norm.max > norm.min)) {
      throw new ModelSpecError(`model ${spec.name}: decoder.normalization needs max > min, got min ${norm.min}, max ${norm.max}`);
    }
    this.cfg = spec.decoder;
    this.bounds = scoreBounds(spec.scoreRange);
    this.inputWidth = spec.input.width;
    this.inputHeight = spec.input.height;
    this.outputNames = [spec.decoder.scoreOutput, spec.decoder.mapOutput];
  }

  decode(outputs: TensorMap, transform: InputTransform): Decoded {
    const { scoreOutput, mapOutput, normalization: norm } = this.cfg;
    const s = floatOutput(outputs, scoreOutput);
    if (elementCount(s.dims) !== 1) {
      throw new DecodeError(`output "${scoreOutput}" has shape [${s.dims.join(', ')}], expected a single score (batch 1)`);
    }
    const m = floatOutput(outputs, mapOutput);
    const dims = m.dims;
    const h = dims[dims.length - 2] ?? 0;
    const w = dims[dims.length - 1] ?? 0;
    if (dims.length < 2 || h <= 0 || w <= 0 || elementCount(dims) !== w * h) {
      throw new DecodeError(`output "${mapOutput}" has shape [${dims.join(', ')}], expected [1, 1, h, w] or [1, h, w]`);
    }
    this.ensureCapacity(w, h);

    let score = s.data[0]!;
    const map = this.map;
    if (norm) {
      const span = norm.max - norm.min;
      score = clamp((score - norm.imageThreshold) / span + 0.5, 0, 1);
      for (let i = 0; i < w * h; i++) map[i] = clamp((m.data[i]! - norm.pixelThreshold) / span + 0.5, 0, 1);
    } else {
      map.set(m.data.subarray(0, w * h));
    }
    // After normalisation only NaN can fail; without it the raw outputs must honour scoreRange.
    checkAllInRange(scoreOutput, 'score', [score], this.bounds);
    checkAllInRange(mapOutput, 'cell', map.subarray(0, w * h), this.bounds);

    // Frame-pixel extent of each map column and row, clipped to the frame: cells over the
    // letterbox padding weigh nothing.
    const cellW = this.inputWidth / w;
    const cellH = this.inputHeight / h;
    for (let x = 0; x < w; x++) {
      const a = clamp((x * cellW - transform.padLeft) / transform.scaleX, 0, transform.frameWidth);
      const b = clamp(((x + 1) * cellW - transform.padLeft) / transform.scaleX, 0, transform.frameWidth);
      this.colWidth[x] = b - a;
    }
    for (let y = 0; y < h; y++) {
      const a = clamp((y * cellH - transform.padTop) / transform.scaleY, 0, transform.frameHeight);
      const b = clamp(((y + 1) * cellH - transform.padTop) / transform.scaleY, 0, transform.frameHeight);
      this.rowHeight[y] = b - a;
    }
    const colWidth = this.colWidth;
    const rowHeight = this.rowHeight;
    const regions = connectedRegions(map, w, h, this.cfg.pixelThreshold, this.labels, this.stack, (x, y) => colWidth[x]! * rowHeight[y]!);

    const candidates: Candidate[] = [];
    for (const r of regions) {
      const c = this.regionCandidate(r, cellW, cellH, transform);
      if (c) candidates.push(c);
    }
    candidates.sort((a, b) => b.score - a.score);
    const decoded: Decoded = { score, candidates, judge: 'part', partLabel: this.cfg.defectLabel, map: () => mapOnFrame(map, w, h, this.inputWidth, this.inputHeight, transform) };
    if (candidates.length === 0) {
      const peak = this.peakRegion(w, h, cellW, cellH, transform);
      if (peak) decoded.peak = peak;
    }
    return decoded;
  }

  private regionCandidate(r: MapRegion, cellW: number, cellH: number, transform: InputTransform): Candidate | undefined {
    const box = inputBoxToFrame(r.minX * cellW, r.minY * cellH, (r.maxX + 1) * cellW, (r.maxY + 1) * cellH, transform);
    if (!box || r.weight <= 0) return undefined;
    return { label: this.cfg.defectLabel, score: r.maxValue, box, areaPx: r.weight };
  }

  /**
   * The connected cells within half of the map's maximum around it (on cells that show in the
   * frame): the spot the map ranks first, even when it stays under pixelThreshold. Runs only when
   * no region was found, so it costs a second pass on those frames alone.
   */
  private peakRegion(w: number, h: number, cellW: number, cellH: number, transform: InputTransform): Candidate | undefined {
    const map = this.map;
    let best = -1;
    for (let i = 0; i < w * h; i++) {
      const x = i % w;
      if (this.colWidth[x]! * this.rowHeight[(i - x) / w]! <= 0) continue;
      if (best < 0 || map[i]! > map[best]!) best = i;
    }
    if (best < 0 || !(map[best]! > 0)) return undefined;
    const regions = connectedRegions(map, w, h, map[best]! / 2, this.labels, this.stack, (x, y) => this.colWidth[x]! * this.rowHeight[y]!);
    const id = this.labels[best]!;
    return id > 0 ? this.regionCandidate(regions[id - 1]!, cellW, cellH, transform) : undefined;
  }

  private ensureCapacity(w: number, h: number): void {
    if (this.map.length < w * h) {
      this.map = new Float32Array(w * h);
      this.labels = new Int32Array(w * h);
      this.stack = new Int32Array(w * h);
    }
    if (this.colWidth.length < w) this.colWidth = new Float64Array(w);
    if (this.rowHeight.length < h) this.rowHeight = new Float64Array(h);
  }
}
