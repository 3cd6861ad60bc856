/**
 * Greedy class-aware non-maximum suppression over preallocated buffers: boxes of different classes
 * never suppress each other (Ultralytics' agnostic=False). `boxes` holds x1,y1,x2,y2 for each of
 * the `count` candidates, already sorted by descending score; `classes` their class ids. Writes the
 * positions of kept candidates to `kept` and returns how many were kept (at most maxKeep).
 * A candidate is suppressed when its IoU with a kept box of its class exceeds iouThreshold, as in
 * torchvision.ops.nms which Ultralytics calls.
 */
export function nmsClassAware(
  boxes: Float32Array,
  classes: Int32Array,
  count: number,
  iouThreshold: number,
  maxKeep: number,
  kept: Int32Array,
): number {
  let nKept = 0;
  for (let i = 0; i < count && nKept < maxKeep; i++) {
    const c = classes[i]!;
    const ax1 = boxes[i * 4]!;
    const ay1 = boxes[i * 4 + 1]!;
    const ax2 = boxes[i * 4 + 2]!;
    const ay2 = boxes[i * 4 + 3]!;
    const areaA = Math.max(0, ax2 - ax1) * Math.max(0, ay2 - ay1);
    let suppressed = false;
    for (let k = 0; k < nKept; k++) {
      const j = kept[k]!;
      if (classes[j] !== c) continue;
      const bx1 = boxes[j * 4]!;
      const by1 = boxes[j * 4 + 1]!;
      const bx2 = boxes[j * 4 + 2]!;
      const by2 = boxes[j * 4 + 3]!;
      const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
      if (iw <= 0) continue;
      const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
      if (ih <= 0) continue;
      const inter = iw * ih;
      const areaB = Math.max(0, bx2 - bx1) * Math.max(0, by2 - by1);
      if (inter / (areaA + areaB - inter) > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept[nKept++] = i;
  }
  return nKept;
}

/** IoU of two [x, y, w, h] boxes; used by tests and tools. */
export function iouXywh(a: readonly number[], b: readonly number[]): number {
  const [ax, ay, aw, ah] = a as [number, number, number, number];
  const [bx, by, bw, bh] = b as [number, number, number, number];
  const iw = Math.min(ax + aw, bx + bw) - Math.max(ax, bx);
  const ih = Math.min(ay + ah, by + bh) - Math.max(ay, by);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / (aw * ah + bw * bh - inter);
}
