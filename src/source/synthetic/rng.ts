/**
 * PRNG. mulberry32 is tiny, fast and good enough for pictures; streams are keyed by a murmur3
 * finaliser so that neighbouring (seed, index) pairs do not give correlated sequences.
 */
import { InspectdError } from '../../errors.js';

export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Seed of PRNG stream `stream` for frame `index` of line `seed`. */
export function frameStreamSeed(seed: number, index: number, stream: number): number {
  const lo = index >>> 0;
  const hi = Math.floor(index / 4294967296) >>> 0;
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  h = fmix32(h ^ Math.imul(lo, 0x85ebca77));
  h = fmix32(h ^ Math.imul(hi + 1, 0xc2b2ae3d));
  return fmix32(h ^ Math.imul(stream + 1, 0x27d4eb2f));
}

export const STREAM_PART = 0;
export const STREAM_DEFECT = 1;

export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new InspectdError('INSPECTD_SOURCE', 'pick from empty list');
  return item;
}

export function gaussian(rng: Rng): number {
  // Irwin-Hall(4): close enough to normal for sensor noise, and no log/sqrt.
  return (rng() + rng() + rng() + rng() - 2) * 1.7320508;
}

