/** Illumination: tilt plus vignette, separable so it costs two small arrays per frame. */
import { type Rng, uniform } from './rng.js';

/**
 * Fills per-column (part and belt) and per-row lighting in 1-grey-level units, and returns the
 * belt brightness per row (base + lighting). Draws from the part stream.
 */
export function light(rng: Rng, w: number, h: number, lCol: Int16Array, lColBelt: Int16Array, lRow: Int16Array): Int16Array {
  const tiltX = uniform(rng, -20, 20);
  const tiltY = uniform(rng, -20, 20);
  const vig = uniform(rng, 4, 18);
  for (let x = 0; x < w; x++) {
    const u = (2 * x) / w - 1;
    const l = tiltX * u - vig * u * u;
    lCol[x] = Math.round(l);
    lColBelt[x] = Math.round(0.5 * l);
  }
  const beltBase = uniform(rng, 30, 58);
  const beltRow = new Int16Array(h);
  for (let y = 0; y < h; y++) {
    const v = (2 * y) / h - 1;
    const l = tiltY * v - vig * v * v;
    lRow[y] = Math.round(l);
    beltRow[y] = Math.round(beltBase + 0.5 * l);
  }
  return beltRow;
}
