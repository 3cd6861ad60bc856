/** A good part on the belt: belt, machined surface, chamfers, shadow, holes, smudges. */
import { discHalf, type Hole, type PartShape } from './geometry.js';
import { beltAt, type Scene } from './scene.js';
import { ringTable } from './scratch.js';
import { RING_LEN, RING_STEPS, TEX_MASK, TEX_SHIFT } from './texture.js';

export interface SurfaceLook {
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

/**
 * The hot loop. Every row splits into belt / part / belt spans so the inner loops carry no
 * shape tests and only integer maths; edge chamfers and the shadow are touched up afterwards
 * on thin strips.
 */
export function drawSurface(s: Scene, part: PartShape, look: SurfaceLook): void {
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
  const ringTab = ringTable(tabLen);
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
export function drawHole(s: Scene, hole: Hole, chamfer: number): void {
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

export function drawSmudge(s: Scene, cx: number, cy: number, r: number, delta: number): void {
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

