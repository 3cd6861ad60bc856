/**
 * Detection scored the way the DeepPCB paper does (Tang et al., "On-line PCB Defect Detector On A
 * New PCB Defect Dataset"): a detection is correct when its IoU with a not-yet-matched ground-truth
 * box of the same class exceeds 0.33. Per class, detections are taken in descending score and each
 * is matched greedily to the unmatched truth box it overlaps most (PASCAL VOC's procedure); AP is
 * the area under the precision envelope over every recall point (VOC 2010+, "all points"). mAP is
 * the mean over classes that have truth boxes. The F-score is at the operating point: the
 * detections the verdict rules report (score at or above the class threshold), over all classes.
 * Figures are on a 0-100 scale, as the paper prints them.
 */

/** [x, y, w, h] in frame pixels, as defects carry them. */
export type Box = [number, number, number, number];

export interface TruthBox {
  label: string;
  box: Box;
}

export interface ScoredBox {
  label: string;
  score: number;
  box: Box;
}

/** One image: its truth, every scored candidate (for AP) and what was reported at the threshold (for F). */
export interface ImageDetections {
  truth: readonly TruthBox[];
  candidates: readonly ScoredBox[];
  reported: readonly ScoredBox[];
}

export interface ClassScore {
  /** Average precision, 0-100. */
  ap: number;
  truths: number;
  /** At the operating point. */
  tp: number;
  fp: number;
  fn: number;
  precision: number | null;
  recall: number | null;
}

export interface DetectionScore {
  iouThreshold: number;
  images: number;
  truths: number;
  mAP: number;
  /** 0-100, at the operating point, all classes pooled. */
  fScore: number;
  precision: number;
  recall: number;
  perClass: Record<string, ClassScore>;
}

export const PAPER_IOU = 0.33;

export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy matching of one class's detections (already in descending score) to the truth boxes of
 * their images: true for each detection that found a truth box, in order.
 */
function matchClass(dets: ReadonlyArray<{ image: number; box: Box }>, truthByImage: ReadonlyMap<number, Box[]>, iouThreshold: number): boolean[] {
  const used = new Map<number, boolean[]>();
  return dets.map((d) => {
    const truth = truthByImage.get(d.image) ?? [];
    const taken = used.get(d.image) ?? new Array<boolean>(truth.length).fill(false);
    used.set(d.image, taken);
    let best = -1;
    let bestIou = iouThreshold;
    truth.forEach((t, i) => {
      if (taken[i]) return;
      const o = iou(d.box, t);
      if (o > bestIou) {
        bestIou = o;
        best = i;
      }
    });
    if (best < 0) return false;
    taken[best] = true;
    return true;
  });
}

/** VOC all-point AP from the hit sequence of detections in descending score, 0-1. */
export function averagePrecision(hits: readonly boolean[], truths: number): number {
  if (truths === 0) return 0;
  const recall: number[] = [0];
  const precision: number[] = [1];
  let tp = 0;
  hits.forEach((hit, i) => {
    if (hit) tp++;
    recall.push(tp / truths);
    precision.push(tp / (i + 1));
  });
  // The envelope: precision at recall r is the best precision at any recall >= r.
  for (let i = precision.length - 2; i >= 0; i--) precision[i] = Math.max(precision[i]!, precision[i + 1]!);
  let ap = 0;
  for (let i = 1; i < recall.length; i++) ap += (recall[i]! - recall[i - 1]!) * precision[i]!;
  return ap;
}

function byClass(images: readonly ImageDetections[], pick: (img: ImageDetections) => readonly ScoredBox[], label: string): Array<{ image: number; box: Box; score: number }> {
  const out: Array<{ image: number; box: Box; score: number }> = [];
  images.forEach((img, image) => {
    for (const d of pick(img)) if (d.label === label) out.push({ image, box: d.box, score: d.score });
  });
  // Stable sort: equal scores keep image order, so a result does not depend on the engine's sort.
  return out.sort((a, b) => b.score - a.score);
}

export function scoreDetections(images: readonly ImageDetections[], labels: readonly string[], iouThreshold = PAPER_IOU): DetectionScore {
  const perClass: Record<string, ClassScore> = {};
  let tpAll = 0;
  let fpAll = 0;
  let fnAll = 0;
  let truthsAll = 0;
  const aps: number[] = [];
  for (const label of labels) {
    const truthByImage = new Map<number, Box[]>();
    let truths = 0;
    images.forEach((img, i) => {
      const boxes = img.truth.filter((t) => t.label === label).map((t) => t.box);
      truths += boxes.length;
      if (boxes.length) truthByImage.set(i, boxes);
    });
    const ap = averagePrecision(matchClass(byClass(images, (img) => img.candidates, label), truthByImage, iouThreshold), truths);
    const hits = matchClass(byClass(images, (img) => img.reported, label), truthByImage, iouThreshold);
    const tp = hits.filter(Boolean).length;
    const fp = hits.length - tp;
    const fn = truths - tp;
    perClass[label] = {
      ap: ap * 100,
      truths,
      tp,
      fp,
      fn,
      precision: tp + fp > 0 ? (tp / (tp + fp)) * 100 : null,
      recall: truths > 0 ? (tp / truths) * 100 : null,
    };
    if (truths > 0) aps.push(ap);
    tpAll += tp;
    fpAll += fp;
    fnAll += fn;
    truthsAll += truths;
  }
  const precision = tpAll + fpAll > 0 ? tpAll / (tpAll + fpAll) : 0;
  const recall = truthsAll > 0 ? tpAll / truthsAll : 0;
  return {
    iouThreshold,
    images: images.length,
    truths: truthsAll,
    mAP: aps.length ? (aps.reduce((a, b) => a + b, 0) / aps.length) * 100 : 0,
    fScore: precision + recall > 0 ? ((2 * precision * recall) / (precision + recall)) * 100 : 0,
    precision: precision * 100,
    recall: recall * 100,
    perClass,
  };
}
