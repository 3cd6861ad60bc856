/** The frame being drawn, shared by the surface and defect passes. */
import { TEX_MASK, TEX_SHIFT, type TextureBank } from './texture.js';

export interface Scene {
  w: number;
  h: number;
  /** The mono image; the hot loops write ints through `raw`, touch-up passes go through `out`. */
  raw: Uint8Array;
  out: Uint8ClampedArray;
  /** 1 where the pixel shows part surface (not belt, hole or broken-away material). */
  mask: Uint8Array;
  bank: TextureBank;
  /** Belt brightness per row (base + lighting), per column lighting, texture gain in 1/256. */
  beltRow: Int16Array;
  lColBelt: Int16Array;
  beltGain: number;
  texOx: number;
  texOy: number;
}

/** Belt brightness at a pixel, for holes and bites that show the belt through the part. */
export function beltAt(s: Scene, x: number, y: number): number {
  const t = s.bank.belt[(((y + s.texOy) & TEX_MASK) << TEX_SHIFT) | ((x + s.texOx) & TEX_MASK)]!;
  return s.beltRow[y]! + s.lColBelt[x]! + ((t * s.beltGain) >> 8);
}
