/** One 8-connected region of map cells at or above a threshold, in map-cell coordinates. */
export interface MapRegion {
  minX: number;
  minY: number;
  /** Inclusive. */
  maxX: number;
  maxY: number;
  cells: number;
  maxValue: number;
  /** Sum of per-cell weights (e.g. each cell's area in frame pixels). */
  weight: number;
}

/**
 * Labels the 8-connected components of cells >= threshold with an explicit stack flood fill.
 * Anomaly maps are small (tens to a few hundred cells a side), so this stays well under a
 * millisecond; `labels` and `stack` are caller-owned scratch buffers of at least w*h entries so a
 * decoder reuses them across frames. cellWeight(x, y) is summed into each region's weight.
 */
export function connectedRegions(
  map: ArrayLike<number>,
  w: number,
  h: number,
  threshold: number,
  labels: Int32Array,
  stack: Int32Array,
  cellWeight: (x: number, y: number) => number,
): MapRegion[] {
  labels.fill(0, 0, w * h);
  const regions: MapRegion[] = [];
  for (let start = 0; start < w * h; start++) {
    if (labels[start] !== 0 || !(map[start]! >= threshold)) continue;
    const id = regions.length + 1;
    const r: MapRegion = { minX: w, minY: h, maxX: -1, maxY: -1, cells: 0, maxValue: -Infinity, weight: 0 };
    let top = 0;
    stack[top++] = start;
    labels[start] = id;
    while (top > 0) {
      const idx = stack[--top]!;
      const x = idx % w;
      const y = (idx - x) / w;
      const v = map[idx]!;
      r.cells++;
      r.weight += cellWeight(x, y);
      if (v > r.maxValue) r.maxValue = v;
      if (x < r.minX) r.minX = x;
      if (x > r.maxX) r.maxX = x;
      if (y < r.minY) r.minY = y;
      if (y > r.maxY) r.maxY = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= w || (dx === 0 && dy === 0)) continue;
          const n = ny * w + nx;
          if (labels[n] !== 0 || !(map[n]! >= threshold)) continue;
          labels[n] = id;
          stack[top++] = n;
        }
      }
    }
    regions.push(r);
  }
  return regions;
}
