/** Part geometry: outlines, holes, bites, and points on and inside them. */
import { type Rng, uniform } from './rng.js';

export interface RectPart {
  shape: 'rect';
  x0: number;
  y0: number;
  x1: number; // exclusive
  y1: number;
}
export interface DiscPart {
  shape: 'disc';
  cx: number;
  cy: number;
  r: number;
}
export type PartShape = RectPart | DiscPart;

export interface Hole {
  cx: number;
  cy: number;
  r: number;
}

/** A bite out of the part's edge: a jagged disc centred on the outline. */
export interface Bite {
  cx: number;
  cy: number;
  r: number;
  /** Radius multipliers at 16 angles, for a broken rather than machined outline. */
  jag: Float32Array;
}

export interface Box {
  x0: number;
  y0: number;
  x1: number; // inclusive
  y1: number;
}

export function emptyBox(): Box {
  return { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
}

export function growBox(b: Box, x: number, y: number): void {
  if (x < b.x0) b.x0 = x;
  if (x > b.x1) b.x1 = x;
  if (y < b.y0) b.y0 = y;
  if (y > b.y1) b.y1 = y;
}

export function boxTuple(b: Box): [number, number, number, number] | null {
  if (b.x1 < b.x0) return null;
  return [b.x0, b.y0, b.x1 - b.x0 + 1, b.y1 - b.y0 + 1];
}

/** A point on the part's outline, for bites. */
export function outlinePoint(rng: Rng, part: PartShape): [number, number] {
  if (part.shape === 'disc') {
    const a = rng() * 2 * Math.PI;
    return [part.cx + part.r * Math.cos(a), part.cy + part.r * Math.sin(a)];
  }
  if (rng() < 0.45) {
    // corners break off most often
    return [rng() < 0.5 ? part.x0 : part.x1 - 1, rng() < 0.5 ? part.y0 : part.y1 - 1];
  }
  const t = uniform(rng, 0.15, 0.85);
  switch (Math.floor(rng() * 4)) {
    case 0:
      return [part.x0 + t * (part.x1 - part.x0), part.y0];
    case 1:
      return [part.x0 + t * (part.x1 - part.x0), part.y1 - 1];
    case 2:
      return [part.x0, part.y0 + t * (part.y1 - part.y0)];
    default:
      return [part.x1 - 1, part.y0 + t * (part.y1 - part.y0)];
  }
}

/** A random point well inside the part outline (not checked against holes). */
export function interiorPoint(rng: Rng, part: PartShape, margin: number): [number, number] {
  if (part.shape === 'rect') {
    return [
      uniform(rng, part.x0 + margin, part.x1 - margin),
      uniform(rng, part.y0 + margin, part.y1 - margin),
    ];
  }
  const a = rng() * 2 * Math.PI;
  const rr = Math.sqrt(rng()) * Math.max(1, part.r - margin);
  return [part.cx + rr * Math.cos(a), part.cy + rr * Math.sin(a)];
}

/** Half-width k of the disc's span on a row dy from the centre: k*k + dy*dy < r2. */
export function discHalf(r2: number, dy: number): number {
  const q = r2 - dy * dy;
  if (q <= 0) return -1;
  let k = Math.floor(Math.sqrt(q));
  while (k >= 0 && k * k + dy * dy >= r2) k--;
  return k;
}
