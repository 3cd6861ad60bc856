/**
 * The verdict contract: the MQTT payload, the `inspectd verdicts` JSONL line and the SQLite row
 * all carry these fields. Change it only with a new `schema` number.
 */
export const VERDICT_SCHEMA = 1 as const;

export const VERDICTS = ['PASS', 'FAIL', 'TIMEOUT', 'ERROR'] as const;
export type VerdictKind = (typeof VERDICTS)[number];

/** A defect found on a part: box is [x, y, w, h] in frame pixels when the model localises. */
export interface Defect {
  label: string;
  score: number;
  box?: [number, number, number, number];
}

export interface ModelInfo {
  name: string;
  version: string;
  precision: string;
  backend: string;
}

export interface VerdictMessage {
  schema: typeof VERDICT_SCHEMA;
  seq: number;
  station: string;
  camera: string;
  frameId: number;
  partId: string | null;
  verdict: VerdictKind;
  /** Defect score in [0,1], higher is more likely defective; null when no inference answered in time. */
  score: number | null;
  defects: Defect[];
  capturedAt: number;
  decidedAt: number;
  latencyMs: number;
  deadlineMs: number;
  model: ModelInfo;
  /** Present on ERROR verdicts only. */
  error?: { code: string; message: string };
  /** The image file judged, relative to the replay folder (folder replay only; absent for cameras). */
  source?: string;
}

/**
 * An anomaly-map model's defect map, resampled onto the frame: `cells[y * width + x]` is the map's
 * value (0..255 for 0..1) at that cell, and the grid covers exactly the frame (x = 0..frameWidth,
 * y = 0..frameHeight; the letterbox padding cut off), so whoever draws it stretches it over the
 * image. Not part of the verdict contract: it travels beside the verdict to the page and the archive.
 */
export interface DefectMap {
  width: number;
  height: number;
  cells: Uint8Array;
}

/** What inference concluded about a frame, before a seq is allocated. */
export interface Decision {
  verdict: VerdictKind;
  score: number | null;
  defects: Defect[];
  error?: { code: string; message: string };
  /** A FAIL of an anomaly-map model: where the map saw the defect (never copied into the VerdictMessage). */
  map?: DefectMap;
}
