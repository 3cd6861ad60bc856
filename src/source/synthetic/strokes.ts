/** Polylines for scratches and cracks: walking, clipping to the part, rasterising coverage. */
import { type Rng, uniform } from './rng.js';
import type { Scene } from './scene.js';

/** A polyline in frame coordinates with a per-vertex intensity weight. */
export interface Stroke {
  xs: number[];
  ys: number[];
  weights: number[];
  halfWidth: number;
}

/**
 * Cut a polyline at its first vertex off the part surface (belt, hole, outside the frame):
 * a scratch that leaves the part would be labelled with a box over the belt.
 */
export function clipToSurface(s: Scene, st: Stroke): Stroke | null {
  let keep = 0;
  while (keep < st.xs.length) {
    const x = Math.floor(st.xs[keep]!);
    const y = Math.floor(st.ys[keep]!);
    if (x < 0 || y < 0 || x >= s.w || y >= s.h || !s.mask[y * s.w + x]) break;
    keep++;
  }
  if (keep < 2) return null;
  return { xs: st.xs.slice(0, keep), ys: st.ys.slice(0, keep), weights: st.weights.slice(0, keep), halfWidth: st.halfWidth };
}

/** A crack: short segments with large heading changes, thinning towards the tip. */
export function crackWalk(rng: Rng, x: number, y: number, heading: number, length: number): Stroke {
  const xs = [x];
  const ys = [y];
  const weights = [1];
  let travelled = 0;
  let ang = heading;
  while (travelled < length) {
    const step = uniform(rng, 3, 9);
    ang += uniform(rng, -0.7, 0.7);
    // drift back towards the main heading so the crack propagates instead of curling up
    ang += (heading - ang) * 0.3;
    xs.push(xs[xs.length - 1]! + Math.cos(ang) * step);
    ys.push(ys[ys.length - 1]! + Math.sin(ang) * step);
    travelled += step;
    weights.push(Math.max(0.35, 1 - (travelled / length) * 0.6));
  }
  return { xs, ys, weights, halfWidth: uniform(rng, 0.6, 1.1) };
}

export function rasteriseStroke(
  cov: Float32Array,
  cw: number,
  xa: number,
  ya: number,
  xb: number,
  yb: number,
  st: Stroke,
): void {
  const hw = st.halfWidth;
  for (let i = 0; i + 1 < st.xs.length; i++) {
    const x0 = st.xs[i]!;
    const y0 = st.ys[i]!;
    const x1 = st.xs[i + 1]!;
    const y1 = st.ys[i + 1]!;
    const w0 = st.weights[i]!;
    const w1 = st.weights[i + 1]!;
    const sx = x1 - x0;
    const sy = y1 - y0;
    const len2 = sx * sx + sy * sy || 1e-9;
    const pxa = Math.max(xa, Math.floor(Math.min(x0, x1) - hw - 1));
    const pxb = Math.min(xb, Math.ceil(Math.max(x0, x1) + hw + 1));
    const pya = Math.max(ya, Math.floor(Math.min(y0, y1) - hw - 1));
    const pyb = Math.min(yb, Math.ceil(Math.max(y0, y1) + hw + 1));
    for (let y = pya; y <= pyb; y++) {
      for (let x = pxa; x <= pxb; x++) {
        const px = x + 0.5 - x0;
        const py = y + 0.5 - y0;
        const t = Math.min(1, Math.max(0, (px * sx + py * sy) / len2));
        const ex = px - t * sx;
        const ey = py - t * sy;
        const d = Math.sqrt(ex * ex + ey * ey);
        const c = Math.min(1, Math.max(0, hw + 0.5 - d)) * (w0 + (w1 - w0) * t);
        const idx = (y - ya) * cw + (x - xa);
        if (c > cov[idx]!) cov[idx] = c;
      }
    }
  }
}
