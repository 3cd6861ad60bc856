/**
 * What a blob does to the board's connectivity, the classic AOI rule behind the defect names: an
 * open cuts a track (one more copper piece, one fewer gap), a short bridges two (the reverse), a
 * stray copper speck is a new piece, a pin-hole a new gap, while a mousebite or a spur only
 * reshapes an edge. Counted over the classifier's patch window, tested against reference, it
 * separates what the patch classifier confuses most (a mousebite and an open look alike at 48 px).
 */

/** Grey level above which a pixel is bare board, at or below which it is copper (DeepPCB's binary scans). */
export const COPPER_LEVEL = 127;

/** The nine cells: (sign of Δ copper pieces + 1) · 3 + (sign of Δ gaps + 1); 4 is "no change". */
export const TOPOLOGY_CELLS = 9;

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
