/**
 * Texture bank: computed once per line seed, then read at per-frame offsets so each part shows
 * a different patch of the same "material". Grain and sensor noise are baked together into
 * 8-bit fixed-point textures (TEX_ONE = one unit) so the hot loop does one integer lookup per
 * pixel instead of two float ones: float-to-byte stores were the renderer's bottleneck.
 */
import { frameStreamSeed, gaussian, mulberry32, uniform } from './rng.js';

const TILE = 256; // grain tile side; power of two so wrapping is a mask
const TILE_MASK = TILE - 1;
const BELT = 32; // belt weave period
export const TEX_SHIFT = 10;
export const TEX = 1 << TEX_SHIFT; // baked texture side: larger than a default frame, so no visible repeat
export const TEX_MASK = TEX - 1;
export const TEX_ONE = 16;
export const RING_STEPS = 2; // turned-ring profile samples per pixel of radius
export const RING_LEN = 8192;

export interface TextureBank {
  /** Brushing along x plus sensor noise. */
  brushedH: Int8Array;
  /** Brushing along y plus sensor noise. */
  brushedV: Int8Array;
  /** Faint cross grain plus sensor noise, under a turned face's rings. */
  turned: Int8Array;
  /** Belt weave plus sensor noise. */
  belt: Int8Array;
  /** Radial profile of a turned (lathe) face, unit variance, RING_STEPS samples per px. */
  rings: Float32Array;
}

const banks = new Map<number, TextureBank>();

function normalise(a: Float32Array): void {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]!;
  const mean = sum / a.length;
  let sq = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - mean;
    sq += d * d;
  }
  const inv = 1 / Math.sqrt(sq / a.length || 1);
  for (let i = 0; i < a.length; i++) a[i] = (a[i]! - mean) * inv;
}

/** Tile (TILE x TILE, repeated) plus sensor noise, quantised to TEX_ONE fixed point. */
function bake(tile: Float32Array, noise: Float32Array, noiseShift: number, noiseGain: number): Int8Array {
  const t = new Int8Array(TEX * TEX);
  const mask = TEX * TEX - 1;
  for (let y = 0; y < TEX; y++) {
    const tRow = (y & TILE_MASK) * TILE;
    const row = y << TEX_SHIFT;
    for (let x = 0; x < TEX; x++) {
      const i = row | x;
      let v = (tile[tRow + (x & TILE_MASK)]! + noiseGain * noise[(i + noiseShift) & mask]!) * TEX_ONE;
      v = v < -127 ? -127 : v > 127 ? 127 : v;
      t[i] = ((v + 128.5) | 0) - 128; // round half up without Math.round's call
    }
  }
  return t;
}

function tileOf(f: (x: number, y: number) => number): Float32Array {
  const t = new Float32Array(TILE * TILE);
  for (let y = 0; y < TILE; y++) for (let x = 0; x < TILE; x++) t[y * TILE + x] = f(x, y);
  return t;
}

export function textureBank(seed: number): TextureBank {
  const key = seed >>> 0;
  const cached = banks.get(key);
  if (cached) return cached;
  const rng = mulberry32(frameStreamSeed(key, 0, 0xbeef));

  // Brushed grain: white noise smeared along x with a long box filter, plus a few deeper
  // tool marks. The smear is what makes it read as brushed metal rather than sand.
  const white = new Float32Array(TILE * TILE);
  for (let i = 0; i < white.length; i++) white[i] = gaussian(rng);
  const grain = new Float32Array(TILE * TILE);
  const half = 12;
  for (let y = 0; y < TILE; y++) {
    const row = y * TILE;
    let acc = 0;
    for (let k = -half; k <= half; k++) acc += white[row + (k & TILE_MASK)]!;
    for (let x = 0; x < TILE; x++) {
      // a little unsmeared noise keeps the texture from looking like a barcode
      grain[row + x] = acc / Math.sqrt(2 * half + 1) + 0.35 * white[row + ((x * 7 + 3) & TILE_MASK)]!;
      acc += white[row + ((x + half + 1) & TILE_MASK)]! - white[row + ((x - half) & TILE_MASK)]!;
    }
  }
  for (let m = 0; m < 18; m++) {
    const y = Math.floor(rng() * TILE);
    const depth = uniform(rng, -2.2, 1.6);
    for (let x = 0; x < TILE; x++) grain[y * TILE + x] = grain[y * TILE + x]! + depth;
  }
  normalise(grain);

  // Sensor noise relative to the grain: a part's grain is 4..10 grey levels, so 0.4 gives
  // 1.6..4 levels of noise, typical of a 8-bit industrial mono sensor at moderate gain.
  // Irwin-Hall over the four bytes of one draw: a near-Gaussian sample per PRNG call, which
  // matters for a million samples baked at start-up.
  const noise = new Float32Array(TEX * TEX);
  for (let i = 0; i < noise.length; i++) {
    const r = (rng() * 4294967296) >>> 0;
    noise[i] = ((r & 255) + ((r >>> 8) & 255) + ((r >>> 16) & 255) + (r >>> 24) - 510) / 147.8;
  }

  const brushedH = bake(grain, noise, 0, 0.4);
  const brushedV = bake(tileOf((x, y) => grain[x * TILE + y]!), noise, 333_331, 0.4);
  const turned = bake(tileOf((x, y) => 0.35 * grain[y * TILE + ((x * 3) & TILE_MASK)]!), noise, 555_557, 0.45);
  const belt = bake(
    tileOf((x, y) => {
      const warp = Math.sin((x / BELT) * 2 * Math.PI * 4);
      const weft = Math.sin((y / BELT) * 2 * Math.PI * 4);
      return ((x >> 2) + (y >> 2)) & 1 ? warp : weft;
    }),
    noise,
    777_781,
    0.5,
  );

  // Turned face: fine feed marks whose pitch wanders a little, on a slowly varying sheen.
  const rings = new Float32Array(RING_LEN);
  let phase = 0;
  let slow = 0;
  for (let i = 0; i < RING_LEN; i++) {
    const pitch = 2.2 + 0.6 * Math.sin(i * 0.0031) + 0.3 * Math.sin(i * 0.017 + 1);
    phase += (2 * Math.PI) / (pitch * RING_STEPS);
    slow = 0.97 * slow + 0.03 * gaussian(rng) * 4;
    rings[i] = Math.sin(phase) * (0.7 + 0.3 * Math.sin(i * 0.011)) + 0.8 * slow + 0.3 * gaussian(rng);
  }
  normalise(rings);

  const bank = { brushedH, brushedV, turned, belt, rings };
  // A daemon renders one line seed; tests use a handful. Bound it anyway.
  if (banks.size >= 4) {
    const oldest = banks.keys().next().value;
    if (oldest !== undefined) banks.delete(oldest);
  }
  banks.set(key, bank);
  return bank;
}
