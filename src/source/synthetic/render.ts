/**
 * The synthetic line camera's optics: draws one part on the belt, seeded and deterministic.
 *
 * Pure TypeScript on purpose: the `synth` command runs this on training machines that have
 * node and nothing else (no OpenCV, no native addons).
 *
 * Determinism contract: the image of frame `index` is a function of (seed, index, size,
 * channels, defectRate, defectKinds) only. Every frame seeds its own PRNGs from (seed, index),
 * so frame 123456 can be regenerated without rendering frames 0..123455.
 *
 * Two independent PRNG streams per frame: one for the part and the belt (geometry, lighting,
 * texture offsets), one for the defects. Rendering the same index with defectRate 0 and 1
 * therefore gives the same part, once clean and once damaged: the tests and the labelling
 * tools rely on that to compare a defect against its clean surroundings.
 */
import { InspectdError } from '../../errors.js';
import type { FrameTruth } from '../frame.js';

export type DefectKind = 'scratch' | 'spot' | 'crack' | 'missing';
export const DEFECT_KINDS: readonly DefectKind[] = ['scratch', 'spot', 'crack', 'missing'];

export interface SyntheticPartOptions {
  width: number;
  height: number;
  channels: 1 | 3;
  /** Share of parts that carry defects, 0..1. */
  defectRate: number;
  /** Line seed; only its low 32 bits matter. */
  seed: number;
  /** Kinds to draw from; default all of DEFECT_KINDS. */
  defectKinds?: string[];
}

export interface RenderPartParams extends SyntheticPartOptions {
  /** Frame index on the line; with the seed it fully decides the image. */
  index: number;
}

export interface RenderedPart {
  /** Row-major 8-bit pixels, `channels` interleaved (BGR when 3). */
  pixels: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
  truth: FrameTruth;
}

// ---------------------------------------------------------------------------------------------
// PRNG. mulberry32 is tiny, fast and good enough for pictures; streams are keyed by a murmur3
// finaliser so that neighbouring (seed, index) pairs do not give correlated sequences.

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

const STREAM_PART = 0;
const STREAM_DEFECT = 1;

function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new InspectdError('INSPECTD_SOURCE', 'pick from empty list');
  return item;
}

// ---------------------------------------------------------------------------------------------
// Texture bank: computed once per line seed, then read at per-frame offsets so each part shows
// a different patch of the same "material". Grain and sensor noise are baked together into
// 8-bit fixed-point textures (TEX_ONE = one unit) so the hot loop does one integer lookup per
// pixel instead of two float ones: float-to-byte stores were the renderer's bottleneck.

const TILE = 256; // grain tile side; power of two so wrapping is a mask
const TILE_MASK = TILE - 1;
const BELT = 32; // belt weave period
const TEX_SHIFT = 10;
const TEX = 1 << TEX_SHIFT; // baked texture side: larger than a default frame, so no visible repeat
const TEX_MASK = TEX - 1;
const TEX_ONE = 16;
const RING_STEPS = 2; // turned-ring profile samples per pixel of radius
const RING_LEN = 8192;

interface TextureBank {
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

function gaussian(rng: Rng): number {
  // Irwin-Hall(4): close enough to normal for sensor noise, and no log/sqrt.
  return (rng() + rng() + rng() + rng() - 2) * 1.7320508;
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

function textureBank(seed: number): TextureBank {
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

// ---------------------------------------------------------------------------------------------
// Scratch buffers reused across frames: the daemon renders at up to 60 fps and per-frame
// allocations of this size would keep the GC busy.

let maskBuf = new Uint8Array(0);
let monoBuf = new Uint8Array(0);
let coverBuf = new Float32Array(0);
let lColBuf = new Int16Array(0);
let lColBeltBuf = new Int16Array(0);
let lRowBuf = new Int16Array(0);
let ringTabBuf = new Int16Array(0);

function ensureScratch(n: number, w: number, h: number): void {
  if (maskBuf.length < n) maskBuf = new Uint8Array(n);
  if (monoBuf.length < n) monoBuf = new Uint8Array(n);
  if (lColBuf.length < w) {
    lColBuf = new Int16Array(w);
    lColBeltBuf = new Int16Array(w);
  }
  if (lRowBuf.length < h) lRowBuf = new Int16Array(h);
}

function cover(n: number): Float32Array {
  if (coverBuf.length < n) coverBuf = new Float32Array(Math.max(n, coverBuf.length * 2));
  coverBuf.fill(0, 0, n);
  return coverBuf;
}

// ---------------------------------------------------------------------------------------------
// Part geometry.

interface RectPart {
  shape: 'rect';
  x0: number;
  y0: number;
  x1: number; // exclusive
  y1: number;
}
interface DiscPart {
  shape: 'disc';
  cx: number;
  cy: number;
  r: number;
}
type PartShape = RectPart | DiscPart;

interface Hole {
  cx: number;
  cy: number;
  r: number;
}

/** A bite out of the part's edge: a jagged disc centred on the outline. */
interface Bite {
  cx: number;
  cy: number;
  r: number;
  /** Radius multipliers at 16 angles, for a broken rather than machined outline. */
  jag: Float32Array;
}

interface Box {
  x0: number;
  y0: number;
  x1: number; // inclusive
  y1: number;
}

function emptyBox(): Box {
  return { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
}

function growBox(b: Box, x: number, y: number): void {
  if (x < b.x0) b.x0 = x;
  if (x > b.x1) b.x1 = x;
  if (y < b.y0) b.y0 = y;
  if (y > b.y1) b.y1 = y;
}

function boxTuple(b: Box): [number, number, number, number] | null {
  if (b.x1 < b.x0) return null;
  return [b.x0, b.y0, b.x1 - b.x0 + 1, b.y1 - b.y0 + 1];
}

/** A point on the part's outline, for bites. */
function outlinePoint(rng: Rng, part: PartShape): [number, number] {
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

// ---------------------------------------------------------------------------------------------

interface Scene {
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

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Belt brightness at a pixel, for holes and bites that show the belt through the part. */
function beltAt(s: Scene, x: number, y: number): number {
  const t = s.bank.belt[(((y + s.texOy) & TEX_MASK) << TEX_SHIFT) | ((x + s.texOx) & TEX_MASK)]!;
  return s.beltRow[y]! + s.lColBelt[x]! + ((t * s.beltGain) >> 8);
}

export function renderPart(params: RenderPartParams, into?: Uint8Array): RenderedPart {
  const { width: w, height: h, channels } = params;
  validate(params);
  const kinds = (params.defectKinds ?? DEFECT_KINDS) as DefectKind[];
  const n = w * h;
  ensureScratch(n, w, h);
  const bank = textureBank(params.seed);
  const rng = mulberry32(frameStreamSeed(params.seed, params.index, STREAM_PART));
  const drng = mulberry32(frameStreamSeed(params.seed, params.index, STREAM_DEFECT));

  const pixels = into ?? new Uint8Array(n * channels);
  if (pixels.length !== n * channels) {
    throw new InspectdError('INSPECTD_SOURCE', `render buffer holds ${pixels.length} bytes, need ${n * channels}`);
  }
  // Mono frames render straight into the caller's buffer.
  const raw = channels === 1 ? pixels : monoBuf.subarray(0, n);
  const out = new Uint8ClampedArray(raw.buffer, raw.byteOffset, n);
  const mask = maskBuf;

  // ---- part stream: everything a good part looks like -------------------------------------
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

  // Illumination: tilt plus vignette, separable so it costs two small arrays per frame.
  const lCol = lColBuf;
  const lColBelt = lColBeltBuf;
  const lRow = lRowBuf;
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

  const scene: Scene = {
    w,
    h,
    raw,
    out,
    mask,
    bank,
    beltRow,
    lColBelt,
    beltGain: Math.round(uniform(rng, 3, 8) * (256 / TEX_ONE)),
    texOx: Math.floor(rng() * TEX),
    texOy: Math.floor(rng() * TEX),
  };

  // Machined features every good part has: mounting holes / a centre bore. They are dark and
  // sharp like defects, which is what keeps "darkest pixel" from being a defect detector.
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

  // Benign surface variation: smudges, and sometimes a specular glint.
  const smudges: Array<{ cx: number; cy: number; r: number; delta: number }> = [];
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
  const bgrTint = [uniform(rng, 1.02, 1.06), uniform(rng, 0.93, 0.97), uniform(rng, 0.92, 0.97), uniform(rng, 1.02, 1.08)] as const;

  // ---- defect stream: decided before the surface is drawn because a bite changes the outline
  const defective = drng() < params.defectRate && kinds.length > 0;
  const planned: DefectKind[] = [];
  if (defective) {
    const count = drng() < 0.7 ? 1 : 2;
    for (let i = 0; i < count; i++) planned.push(pick(drng, kinds));
  }
  const bites: Bite[] = [];
  for (const kind of planned) {
    if (kind !== 'missing') continue;
    const [cx, cy] = outlinePoint(drng, part);
    const jag = new Float32Array(16);
    for (let k = 0; k < 16; k++) jag[k] = uniform(drng, 0.78, 1.15);
    bites.push({ cx, cy, r: Math.max(6, minSide * uniform(drng, 0.025, 0.06)), jag });
  }

  drawSurface(scene, part, {
    partBase,
    grainGain: Math.round(grainAmp * (256 / TEX_ONE)),
    grainAmp,
    chamfer,
    shadowOff,
    shadowDepth,
    tex: part.shape === 'disc' ? bank.turned : brushedAlongY ? bank.brushedV : bank.brushedH,
    lCol,
    lRow,
  });
  for (const hole of holes) drawHole(scene, hole, chamfer);
  for (const s of smudges) drawSmudge(scene, s.cx, s.cy, s.r, s.delta);

  const truthKinds: string[] = [];
  const boxes: Array<[number, number, number, number]> = [];
  let biteIdx = 0;
  for (const kind of planned) {
    let box: [number, number, number, number] | null = null;
    if (kind === 'missing') {
      const bite = bites[biteIdx++];
      if (bite) box = drawBite(scene, bite);
    } else {
      // A mark can land in a hole or run off the part; re-place it rather than label an
      // invisible defect.
      for (let attempt = 0; attempt < 8 && !box; attempt++) box = drawMark(scene, drng, part, kind);
    }
    if (box) {
      truthKinds.push(kind);
      boxes.push(box);
    }
  }

  if (channels === 3) toBgr(raw, mask, pixels, n, bgrTint);

  return {
    pixels,
    width: w,
    height: h,
    channels,
    truth: { defective: boxes.length > 0, kinds: truthKinds, boxes },
  };
}

function validate(p: RenderPartParams): void {
  const bad = (m: string): never => {
    throw new InspectdError('INSPECTD_SOURCE', `synthetic part: ${m}`);
  };
  if (!Number.isInteger(p.width) || p.width < 32 || p.width > 8192) bad(`width ${p.width} not an integer in 32..8192`);
  if (!Number.isInteger(p.height) || p.height < 32 || p.height > 8192) bad(`height ${p.height} not an integer in 32..8192`);
  if (p.channels !== 1 && p.channels !== 3) bad(`channels ${String(p.channels)} must be 1 or 3`);
  if (!(p.defectRate >= 0 && p.defectRate <= 1)) bad(`defectRate ${p.defectRate} outside 0..1`);
  if (!Number.isFinite(p.seed)) bad(`seed ${p.seed} not finite`);
  if (!Number.isInteger(p.index) || p.index < 0) bad(`index ${p.index} not a non-negative integer`);
  for (const k of p.defectKinds ?? []) {
    if (!(DEFECT_KINDS as readonly string[]).includes(k)) bad(`unknown defect kind "${k}" (known: ${DEFECT_KINDS.join(', ')})`);
  }
}

interface SurfaceLook {
  partBase: number;
  /** Texture gain in 1/256 units of TEX_ONE. */
  grainGain: number;
  grainAmp: number;
  chamfer: number;
  shadowOff: number;
  shadowDepth: number;
  tex: Int8Array;
  lCol: Int16Array;
  lRow: Int16Array;
}

/** Belt pixels [xa, xb) of row y. */
function beltSpan(s: Scene, y: number, xa: number, xb: number): void {
  const { w, raw, mask, lColBelt, beltGain, texOx } = s;
  const tex = s.bank.belt;
  const tRow = ((y + s.texOy) & TEX_MASK) << TEX_SHIFT;
  const base = s.beltRow[y]!;
  const row = y * w;
  for (let x = xa; x < xb; x++) {
    const v = base + lColBelt[x]! + ((tex[tRow | ((x + texOx) & TEX_MASK)]! * beltGain) >> 8);
    raw[row + x] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  mask.fill(0, row + xa, row + xb);
}

/** Darken belt pixels [xa, xb) of row y where the part's shadow falls. */
function shadowSpan(s: Scene, y: number, xa: number, xb: number, depth: number): void {
  if (y < 0 || y >= s.h) return;
  const row = y * s.w;
  const a = Math.max(0, xa);
  const b = Math.min(s.w, xb);
  for (let x = a; x < b; x++) if (!s.mask[row + x]) s.out[row + x] = s.out[row + x]! - depth;
}

/** Half-width k of the disc's span on a row dy from the centre: k*k + dy*dy < r2. */
function discHalf(r2: number, dy: number): number {
  const q = r2 - dy * dy;
  if (q <= 0) return -1;
  let k = Math.floor(Math.sqrt(q));
  while (k >= 0 && k * k + dy * dy >= r2) k--;
  return k;
}

/**
 * The hot loop. Every row splits into belt / part / belt spans so the inner loops carry no
 * shape tests and only integer maths; edge chamfers and the shadow are touched up afterwards
 * on thin strips.
 */
function drawSurface(s: Scene, part: PartShape, look: SurfaceLook): void {
  const { w, h, raw, mask, texOx } = s;
  const { partBase, grainGain, chamfer, shadowOff: so, shadowDepth, tex, lCol, lRow } = look;

  if (part.shape === 'rect') {
    const x0 = Math.max(0, part.x0);
    const x1 = Math.min(w, part.x1);
    const base0 = Math.round(partBase);
    for (let y = 0; y < h; y++) {
      if (y < part.y0 || y >= part.y1 || x1 <= x0) {
        beltSpan(s, y, 0, w);
        continue;
      }
      beltSpan(s, y, 0, x0);
      const tRow = ((y + s.texOy) & TEX_MASK) << TEX_SHIFT;
      const base = base0 + lRow[y]!;
      const row = y * w;
      for (let x = x0; x < x1; x++) {
        const v = base + lCol[x]! + ((tex[tRow | ((x + texOx) & TEX_MASK)]! * grainGain) >> 8);
        raw[row + x] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
      mask.fill(1, row + x0, row + x1);
      beltSpan(s, y, x1, w);
    }
    // chamfer: a 3 px band inside the outline
    const out = s.out;
    const ya = Math.max(0, part.y0);
    const yb = Math.min(h, part.y1);
    for (let y = ya; y < yb; y++) {
      const row = y * w;
      const edgeRow = y - part.y0 < 3 || part.y1 - 1 - y < 3;
      const xa = edgeRow ? x1 : Math.min(x1, x0 + 3);
      for (let x = x0; x < xa; x++) out[row + x] = out[row + x]! + chamfer;
      if (edgeRow) continue;
      for (let x = Math.max(x0, x1 - 3); x < x1; x++) out[row + x] = out[row + x]! + chamfer;
    }
    // shadow falls down-right, away from the light
    for (let y = part.y0 + so; y < part.y1 + so; y++) shadowSpan(s, y, part.x0 + so, part.x1 + so, shadowDepth);
    return;
  }

  // Turned disc: brightness of the rings depends on the squared radius only, so tabulate it
  // once per frame (integer centre, integer d2) instead of a sqrt per pixel.
  const { cx, cy, r } = part;
  const r2 = r * r;
  const tabLen = Math.ceil(r2) + 1;
  if (ringTabBuf.length < tabLen) ringTabBuf = new Int16Array(tabLen);
  const ringTab = ringTabBuf;
  const rings = s.bank.rings;
  const ringAmp = look.grainAmp * 0.9;
  for (let d2 = 0; d2 < tabLen; d2++) {
    const d = Math.sqrt(d2);
    const ri = Math.min(RING_LEN - 1, (d * RING_STEPS) | 0);
    ringTab[d2] = Math.round(partBase + ringAmp * rings[ri]! + (d > r - 3 ? chamfer : 0));
  }
  for (let y = 0; y < h; y++) {
    const dy = y - cy;
    const k = discHalf(r2, dy);
    if (k < 0) {
      beltSpan(s, y, 0, w);
      continue;
    }
    const xa = Math.min(w, Math.max(0, cx - k));
    const xb = Math.min(w, Math.max(xa, cx + k + 1));
    beltSpan(s, y, 0, xa);
    const tRow = ((y + s.texOy) & TEX_MASK) << TEX_SHIFT;
    const rowL = lRow[y]!;
    const dy2 = dy * dy;
    const row = y * w;
    for (let x = xa; x < xb; x++) {
      const dx = x - cx;
      const v = ringTab[dx * dx + dy2]! + rowL + lCol[x]! + ((tex[tRow | ((x + texOx) & TEX_MASK)]! * grainGain) >> 8);
      raw[row + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    mask.fill(1, row + xa, row + xb);
    beltSpan(s, y, xb, w);
  }
  for (let y = Math.floor(cy - r + so); y <= Math.ceil(cy + r + so); y++) {
    const k = discHalf(r2, y - cy - so);
    if (k >= 0) shadowSpan(s, y, cx + so - k, cx + so + k + 1, shadowDepth);
  }
}

/** A through-hole: belt seen through a shadowed bore, ringed by a chamfer lit from upper left. */
function drawHole(s: Scene, hole: Hole, chamfer: number): void {
  const { w, h, out, mask } = s;
  const rim = hole.r + 2.5;
  const xa = Math.max(0, Math.floor(hole.cx - rim));
  const xb = Math.min(w - 1, Math.ceil(hole.cx + rim));
  const ya = Math.max(0, Math.floor(hole.cy - rim));
  const yb = Math.min(h - 1, Math.ceil(hole.cy + rim));
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const p = y * w + x;
      if (!mask[p]) continue;
      const dx = x + 0.5 - hole.cx;
      const dy = y + 0.5 - hole.cy;
      const d = Math.sqrt(dx * dx + dy * dy);
      if (d < hole.r) {
        out[p] = beltAt(s, x, y) * 0.55;
        mask[p] = 0;
      } else if (d < rim) {
        // light from the upper left: the far wall of the chamfer catches it
        const facing = (dx + dy) / (d * Math.SQRT2);
        out[p] = out[p]! + Math.abs(chamfer) * facing;
      }
    }
  }
}

function drawSmudge(s: Scene, cx: number, cy: number, r: number, delta: number): void {
  const { w, h, out, mask } = s;
  const xa = Math.max(0, Math.floor(cx - r));
  const xb = Math.min(w - 1, Math.ceil(cx + r));
  const ya = Math.max(0, Math.floor(cy - r));
  const yb = Math.min(h - 1, Math.ceil(cy + r));
  const inv = 1 / (r * r);
  for (let y = ya; y <= yb; y++) {
    const dy = y + 0.5 - cy;
    for (let x = xa; x <= xb; x++) {
      const p = y * w + x;
      if (!mask[p]) continue;
      const dx = x + 0.5 - cx;
      const q = 1 - (dx * dx + dy * dy) * inv;
      if (q > 0) out[p] = out[p]! + delta * q * q;
    }
  }
}

/** Missing material: the part's outline broken away, belt showing through. */
function drawBite(s: Scene, bite: Bite): [number, number, number, number] | null {
  const { w, h, out, mask } = s;
  const reach = bite.r * 1.2 + 2;
  const xa = Math.max(0, Math.floor(bite.cx - reach));
  const xb = Math.min(w - 1, Math.ceil(bite.cx + reach));
  const ya = Math.max(0, Math.floor(bite.cy - reach));
  const yb = Math.min(h - 1, Math.ceil(bite.cy + reach));
  const box = emptyBox();
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const p = y * w + x;
      if (!mask[p]) continue;
      const dx = x + 0.5 - bite.cx;
      const dy = y + 0.5 - bite.cy;
      const d = Math.sqrt(dx * dx + dy * dy);
      // interpolate the jagged radius around the bite
      const a = ((Math.atan2(dy, dx) / (2 * Math.PI)) * 16 + 16) % 16;
      const k0 = Math.floor(a);
      const f = a - k0;
      const jr = bite.r * (bite.jag[k0 & 15]! * (1 - f) + bite.jag[(k0 + 1) & 15]! * f);
      if (d < jr) {
        out[p] = beltAt(s, x, y);
        mask[p] = 0;
        growBox(box, x, y);
      } else if (d < jr + 1.5) {
        // fresh fracture face: rough and darker than the machined surface
        out[p] = out[p]! - 22;
        growBox(box, x, y);
      }
    }
  }
  return boxTuple(box);
}

/** A polyline in frame coordinates with a per-vertex intensity weight. */
interface Stroke {
  xs: number[];
  ys: number[];
  weights: number[];
  halfWidth: number;
}

/**
 * Scratches, cracks and spots: rasterise a coverage map over the mark's box, then apply it
 * once, so overlapping segments of a crack do not darken twice.
 */
function drawMark(s: Scene, rng: Rng, part: PartShape, kind: DefectKind): [number, number, number, number] | null {
  const { w, h, out, mask } = s;
  const [ax, ay] = interiorPoint(rng, part, 14);
  const start = Math.floor(ay) * w + Math.floor(ax);
  if (!mask[start]) return null;

  let strokes: Stroke[] = [];
  let delta: number;
  let spot: { rx: number; ry: number; angle: number; rim: number } | null = null;
  if (kind === 'scratch') {
    const width = 1 + Math.floor(rng() * 3);
    const len = uniform(rng, 40, 200) * (Math.min(w, h) / 512);
    let ang = rng() * Math.PI;
    const segs = 3 + Math.floor(rng() * 3);
    const xs = [ax];
    const ys = [ay];
    const weights = [uniform(rng, 0.5, 1)];
    for (let i = 0; i < segs; i++) {
      ang += uniform(rng, -0.08, 0.08); // a dragged burr curves only slightly
      xs.push(xs[i]! + (Math.cos(ang) * len) / segs);
      ys.push(ys[i]! + (Math.sin(ang) * len) / segs);
      weights.push(uniform(rng, 0.55, 1));
    }
    const scratch = clipToSurface(s, { xs, ys, weights, halfWidth: width / 2 });
    if (!scratch) return null;
    strokes = [scratch];
    // Thin scratches need more contrast to survive 2x downsampling.
    const mag = width === 1 ? uniform(rng, 28, 70) : uniform(rng, 18, 55);
    delta = rng() < 0.55 ? mag : -mag;
  } else if (kind === 'crack') {
    const main = clipToSurface(s, crackWalk(rng, ax, ay, rng() * 2 * Math.PI, uniform(rng, 30, 120) * (Math.min(w, h) / 512)));
    if (!main) return null;
    strokes = [main];
    const branches = Math.floor(rng() * 3);
    for (let b = 0; b < branches && main.xs.length > 2; b++) {
      const at = 1 + Math.floor(rng() * (main.xs.length - 2));
      const dir = Math.atan2(main.ys[at + 1]! - main.ys[at]!, main.xs[at + 1]! - main.xs[at]!);
      const side = rng() < 0.5 ? -1 : 1;
      const branch = crackWalk(rng, main.xs[at]!, main.ys[at]!, dir + side * uniform(rng, 0.5, 1.1), uniform(rng, 12, 40));
      branch.halfWidth = Math.max(0.5, main.halfWidth - 0.25);
      const kept = clipToSurface(s, branch);
      if (kept) strokes.push(kept);
    }
    delta = -uniform(rng, 30, 80);
  } else {
    const diameter = uniform(rng, 4, 14);
    const elong = uniform(rng, 0.7, 1);
    spot = { rx: diameter / 2, ry: (diameter / 2) * elong, angle: rng() * Math.PI, rim: 0 };
    const mag = uniform(rng, 25, 60) + (14 - diameter) * 3;
    const dark = rng() < 0.65;
    delta = dark ? -mag : mag;
    // a pit often throws up a raised lip that catches the light
    if (dark && rng() < 0.5) spot.rim = mag * uniform(rng, 0.25, 0.5);
    strokes = [{ xs: [ax], ys: [ay], weights: [1], halfWidth: spot.rx * 1.6 + 1 }];
  }

  // Coverage box.
  let bx0 = Infinity;
  let by0 = Infinity;
  let bx1 = -Infinity;
  let by1 = -Infinity;
  for (const st of strokes) {
    for (let i = 0; i < st.xs.length; i++) {
      bx0 = Math.min(bx0, st.xs[i]! - st.halfWidth - 2);
      bx1 = Math.max(bx1, st.xs[i]! + st.halfWidth + 2);
      by0 = Math.min(by0, st.ys[i]! - st.halfWidth - 2);
      by1 = Math.max(by1, st.ys[i]! + st.halfWidth + 2);
    }
  }
  const xa = Math.max(0, Math.floor(bx0));
  const xb = Math.min(w - 1, Math.ceil(bx1));
  const ya = Math.max(0, Math.floor(by0));
  const yb = Math.min(h - 1, Math.ceil(by1));
  if (xb < xa || yb < ya) return null;
  const cw = xb - xa + 1;
  const ch = yb - ya + 1;
  // Rim coverage (spots only) lives in a second plane of the same buffer.
  const planes = spot && spot.rim > 0 ? 2 : 1;
  const buf = cover(cw * ch * planes);
  const cov = buf.subarray(0, cw * ch);
  const rimCov = planes === 2 ? buf.subarray(cw * ch, 2 * cw * ch) : null;

  if (spot) {
    const cos = Math.cos(spot.angle);
    const sin = Math.sin(spot.angle);
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const dx = x + 0.5 - ax;
        const dy = y + 0.5 - ay;
        const u = (dx * cos + dy * sin) / spot.rx;
        const v = (-dx * sin + dy * cos) / spot.ry;
        const rr = Math.sqrt(u * u + v * v);
        const i = (y - ya) * cw + (x - xa);
        // ~1 px soft edge
        cov[i] = Math.min(1, Math.max(0, (1 - rr) * spot.rx + 0.5));
        if (rimCov) rimCov[i] = Math.max(0, 1 - Math.abs(rr - 1.25) / 0.3);
      }
    }
  } else {
    for (const st of strokes) rasteriseStroke(cov, cw, xa, ya, xb, yb, st);
  }

  const box = emptyBox();
  const rim = spot?.rim ?? 0;
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const i = (y - ya) * cw + (x - xa);
      const c = cov[i]!;
      const rc = rimCov ? rimCov[i]! : 0;
      if (c <= 0 && rc <= 0) continue;
      const p = y * w + x;
      if (!mask[p]) continue;
      out[p] = out[p]! + delta * c + rim * rc;
      if (c > 0.25 || rc > 0.5) growBox(box, x, y);
    }
  }
  return boxTuple(box);
}

/**
 * Cut a polyline at its first vertex off the part surface (belt, hole, outside the frame):
 * a scratch that leaves the part would be labelled with a box over the belt.
 */
function clipToSurface(s: Scene, st: Stroke): Stroke | null {
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

/** A random point well inside the part outline (not checked against holes). */
function interiorPoint(rng: Rng, part: PartShape, margin: number): [number, number] {
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

/** A crack: short segments with large heading changes, thinning towards the tip. */
function crackWalk(rng: Rng, x: number, y: number, heading: number, length: number): Stroke {
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

function rasteriseStroke(
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

/**
 * Colour cameras on this line see bluish steel on a greenish-grey belt. The tint is per frame
 * but tiny: colour is not a defect cue.
 */
function toBgr(
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
