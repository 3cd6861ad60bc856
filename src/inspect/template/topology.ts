import { opencv, type Mat } from '../../preprocess/opencv.js';

/**
 * What a blob does to the board's connectivity, the classic AOI rule behind the defect names: an
 * open cuts a track (one more copper piece, one fewer gap), a short bridges two (the reverse), a
 * stray copper speck is a new piece, a pin-hole a new gap, while a mousebite or a spur only
 * reshapes an edge. Counted over a window about the blob, tested against reference, it separates
 * what the patch classifier confuses most (a mousebite and an open look alike at 48 px).
 */

/** Grey level above which a pixel is bare board, at or below which it is copper (DeepPCB's binary scans). */
export const COPPER_LEVEL = 127;

/** The nine cells: (sign of Δ copper pieces + 1) · 3 + (sign of Δ gaps + 1); 4 is "no change". */
export const TOPOLOGY_CELLS = 9;

/** Where a blob's cell is counted (model.json decoder.topology.window; absent: the patch window). */
export interface TopologyWindow {
  marginPx: number;
  isolate: boolean;
}

/** 8-connected pieces of the pixels where `bright(x) === wanted`, in a w×h window. */
function pieces(grey: ArrayLike<number>, w: number, h: number, wanted: boolean): number {
  const seen = new Uint8Array(w * h);
  const stack: number[] = [];
  let n = 0;
  for (let start = 0; start < w * h; start++) {
    if (seen[start] || grey[start]! > COPPER_LEVEL !== wanted) continue;
    n++;
    seen[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const i = stack.pop()!;
      const x = i % w;
      const y = (i - x) / w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const j = yy * w + xx;
          if (seen[j] || grey[j]! > COPPER_LEVEL !== wanted) continue;
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
  }
  return n;
}

/** The topology cell (0-8) of one patch window: tested and reference grey pixels, w×h, row-major. */
export function topologyCell(tested: ArrayLike<number>, reference: ArrayLike<number>, w: number, h: number): number {
  const copper = Math.sign(pieces(tested, w, h, false) - pieces(reference, w, h, false));
  const gaps = Math.sign(pieces(tested, w, h, true) - pieces(reference, w, h, true));
  return (copper + 1) * 3 + (gaps + 1);
}

/** Pixels of the blob's box grown by this much count as the blob's own under `isolate` (the difference mask stops a tolerance short of the copper it touches). */
const ISOLATE_GROW_PX = 2;

/**
 * A blob's cell over the window `rule` gives: its box (x, y, w, h, in unpadded pixels) grown by
 * marginPx, at least minW×minH about its centre, clipped to the padded images. `tested` and
 * `reference` are the aligned frame and its reference, both padded by `pad` px a side (patches.ts).
 */
export function blobTopologyCell(tested: Mat, reference: Mat, pad: number, box: readonly [number, number, number, number], minW: number, minH: number, rule: TopologyWindow): number {
  const cv = opencv();
  const [bx, by, bw, bh] = box;
  const cx = bx + bw / 2;
  const cy = by + bh / 2;
  const ww = Math.max(minW, bw + 2 * rule.marginPx);
  const wh = Math.max(minH, bh + 2 * rule.marginPx);
  const x0 = Math.max(0, Math.round(cx - ww / 2) + pad);
  const y0 = Math.max(0, Math.round(cy - wh / 2) + pad);
  const x1 = Math.min(tested.cols, Math.round(cx - ww / 2) + pad + ww);
  const y1 = Math.min(tested.rows, Math.round(cy - wh / 2) + pad + wh);
  const rect = new cv.Rect(x0, y0, x1 - x0, y1 - y0);
  // A region is a view with the parent's stride; copy() makes it continuous for getData().
  const ref = reference.getRegion(rect).copy().getData();
  let test: ArrayLike<number> = tested.getRegion(rect).copy().getData();
  if (rule.isolate) {
    const own = new Uint8Array(ref);
    const g = ISOLATE_GROW_PX;
    const w = x1 - x0;
    for (let y = Math.max(y0, by + pad - g); y < Math.min(y1, by + pad + bh + g); y++) {
      for (let x = Math.max(x0, bx + pad - g); x < Math.min(x1, bx + pad + bw + g); x++) {
        const k = (y - y0) * w + (x - x0);
        own[k] = test[k]!;
      }
    }
    test = own;
  }
  return topologyCell(test, ref, x1 - x0, y1 - y0);
}
