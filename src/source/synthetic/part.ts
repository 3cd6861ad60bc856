/**
 * The part stream: what a good part looks like. Every draw here comes from the frame's part
 * PRNG, and renderPart calls these in a fixed order; the order is part of the determinism
 * contract, so reordering draws (here or between calls) changes every frame.
 */
import type { Hole, PartShape } from './geometry.js';
import { type Rng, uniform } from './rng.js';

export interface PartLook {
  part: PartShape;
  partBase: number;
  grainAmp: number;
  chamfer: number;
  shadowOff: number;
  shadowDepth: number;
  brushedAlongY: boolean;
}

export interface Smudge {
  cx: number;
  cy: number;
  r: number;
  delta: number;
}

export function planPart(rng: Rng, w: number, h: number): PartLook {
  const minSide = Math.min(w, h);
  const part: PartShape =
    rng() < 0.6
      ? (() => {
          const pw = Math.round(w * uniform(rng, 0.55, 0.72));
          const ph = Math.round(h * uniform(rng, 0.55, 0.75));
          const cx = w / 2 + w * uniform(rng, -0.04, 0.04);
          const cy = h / 2 + h * uniform(rng, -0.04, 0.04);
          const x0 = Math.round(cx - pw / 2);
          const y0 = Math.round(cy - ph / 2);
          return { shape: 'rect', x0, y0, x1: x0 + pw, y1: y0 + ph } as const;
        })()
      : {
          shape: 'disc',
          cx: Math.round(w / 2 + w * uniform(rng, -0.04, 0.04)),
          cy: Math.round(h / 2 + h * uniform(rng, -0.04, 0.04)),
          r: minSide * uniform(rng, 0.3, 0.4),
        };
  const partBase = uniform(rng, 118, 172);
  const grainAmp = uniform(rng, 4, 10);
  const chamfer = uniform(rng, 8, 24) * (rng() < 0.8 ? 1 : -1);
  const shadowOff = Math.round(uniform(rng, 3, 7) * (minSide / 512));
  const shadowDepth = uniform(rng, 6, 16);
  const brushedAlongY = rng() < 0.5;
  return { part, partBase, grainAmp, chamfer, shadowOff, shadowDepth, brushedAlongY };
}

/**
 * Machined features every good part has: mounting holes / a centre bore. They are dark and
 * sharp like defects, which is what keeps "darkest pixel" from being a defect detector.
 */
export function placeHoles(rng: Rng, part: PartShape, minSide: number): Hole[] {
  const holes: Hole[] = [];
  if (part.shape === 'rect') {
    const layout = rng();
    const pw = part.x1 - part.x0;
    const ph = part.y1 - part.y0;
    const hr = Math.max(3, minSide * uniform(rng, 0.014, 0.024));
    const inset = Math.max(hr * 2.2, Math.min(pw, ph) * uniform(rng, 0.08, 0.14));
    const corners: Array<[number, number]> = [
      [part.x0 + inset, part.y0 + inset],
      [part.x1 - inset, part.y0 + inset],
      [part.x0 + inset, part.y1 - inset],
      [part.x1 - inset, part.y1 - inset],
    ];
    const chosen = layout < 0.25 ? [] : layout < 0.5 ? [corners[0]!, corners[3]!] : corners;
    for (const [cx, cy] of chosen) holes.push({ cx, cy, r: hr });
  } else if (rng() < 0.7) {
    holes.push({ cx: part.cx, cy: part.cy, r: part.r * uniform(rng, 0.12, 0.25) });
  }
  return holes;
}

/** Benign surface variation: smudges, and sometimes a specular glint. */
export function placeSmudges(rng: Rng, w: number, h: number, minSide: number): Smudge[] {
  const smudges: Smudge[] = [];
  const nSmudges = Math.floor(rng() * 3);
  for (let i = 0; i < nSmudges; i++) {
    smudges.push({
      cx: uniform(rng, 0.2, 0.8) * w,
      cy: uniform(rng, 0.2, 0.8) * h,
      r: minSide * uniform(rng, 0.04, 0.1),
      delta: uniform(rng, 4, 9) * (rng() < 0.5 ? 1 : -1),
    });
  }
  if (rng() < 0.35) {
    smudges.push({
      cx: uniform(rng, 0.25, 0.75) * w,
      cy: uniform(rng, 0.25, 0.75) * h,
      r: minSide * uniform(rng, 0.08, 0.18),
      delta: uniform(rng, 14, 34),
    });
  }
  return smudges;
}
