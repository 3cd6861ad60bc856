import { type Rng, uniform } from './rng.js';

/**
 * Colour cameras on this line see bluish steel on a greenish-grey belt. The tint is per frame
 * but tiny: colour is not a defect cue.
 */
export function toBgr(
  mono: Uint8Array,
  mask: Uint8Array,
  pixels: Uint8Array,
  n: number,
  tint: readonly [number, number, number, number],
): void {
  const clamped = new Uint8ClampedArray(pixels.buffer, pixels.byteOffset, n * 3);
  const [pb, pr, bb, bg] = tint;
  for (let p = 0, q = 0; p < n; p++, q += 3) {
    const v = mono[p]!;
    if (mask[p]) {
      clamped[q] = v * pb;
      clamped[q + 1] = v;
      clamped[q + 2] = v * pr;
    } else {
      clamped[q] = v * bb;
      clamped[q + 1] = v * bg;
      clamped[q + 2] = v;
    }
  }
}

/** Per-frame tint factors for toBgr: part blue, part red, belt blue, belt green. */
export function bgrTint(rng: Rng): readonly [number, number, number, number] {
  return [uniform(rng, 1.02, 1.06), uniform(rng, 0.93, 0.97), uniform(rng, 0.92, 0.97), uniform(rng, 1.02, 1.08)] as const;
}
