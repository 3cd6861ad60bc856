import type { TensorMap } from '../infer/backend.js';
import type { InputRegion, InputTransform } from '../preprocess/geometry.js';
import type { DefectMap } from '../verdict/types.js';

export type { InputRegion };

/** A candidate defect in frame pixels, before the verdict rules (thresholds, ROI, min area) judge it. */
export interface Candidate {
  label: string;
  score: number;
  /** [x, y, w, h] in frame pixels, when the model localises. */
  box?: [number, number, number, number];
  /** Defect area in frame pixels (box area for detectors, region area for maps). */
  areaPx?: number;
}

export interface Decoded {
  /** Part-level defect score in [0,1]: higher means more likely defective. */
  score: number;
  candidates: Candidate[];
  /**
   * What the verdict threshold applies to. 'candidates' (detectors): each candidate is judged on its
   * own score. 'part' (classifiers, anomaly maps): the part score is judged, as the model was
   * calibrated, and located candidates only say where, so ROI, ignore masks and minimum area can
   * still veto. Absent means 'candidates' when any candidate has a box, else 'part'.
   */
  judge?: 'candidates' | 'part';
  /** Label a part-level defect carries when a part-judged model located nothing (e.g. 'defect'). */
  partLabel?: string;
  /**
   * Where a map model looked hardest when no map cell reached its pixel threshold: the region
   * around the map's maximum. Not a candidate (it cannot veto through ROI or ignore masks: the
   * part score alone decides, fail-safe); a FAIL without located candidates carries its box, so
   * every FAIL of a model with a map says where to look.
   */
  peak?: Candidate;
  /**
   * The model's defect map on the frame (anomaly-map models), for drawing: a FAIL's verdict carries it
   * on. Made on demand, so a PASS costs nothing; it reads the decoder's buffers, so it must be called
   * before the decoder's next decode (decide() calls it at once).
   */
  map?: () => DefectMap;
}

/** Turns a model's raw outputs into a part score and located candidates. One per model.json decoder type. */
export interface Decoder {
  readonly outputNames: readonly string[];
  decode(outputs: TensorMap, transform: InputTransform, regions?: readonly InputRegion[]): Decoded;
}
