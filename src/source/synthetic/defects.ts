/** Defects: which ones a part gets, and drawing them over the finished surface. */
import type { FrameTruth } from '../frame.js';
import type { DefectKind } from './params.js';
import { type Bite, boxTuple, emptyBox, growBox, interiorPoint, outlinePoint, type PartShape } from './geometry.js';
import { pick, type Rng, uniform } from './rng.js';
import { beltAt, type Scene } from './scene.js';
import { cover } from './scratch.js';
import { clipToSurface, crackWalk, rasteriseStroke, type Stroke } from './strokes.js';

export interface DefectPlan {
  planned: DefectKind[];
  /** One per 'missing' in `planned`, in order. */
  bites: Bite[];
}

/** Decided before the surface is drawn because a bite changes the outline. */
export function planDefects(drng: Rng, defectRate: number, kinds: DefectKind[], part: PartShape, minSide: number): DefectPlan {
  const defective = drng() < defectRate && kinds.length > 0;
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
  return { planned, bites };
}

/** Missing material: the part's outline broken away, belt showing through. */
export function drawBite(s: Scene, bite: Bite): [number, number, number, number] | null {
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

/**
 * Scratches, cracks and spots: rasterise a coverage map over the mark's box, then apply it
 * once, so overlapping segments of a crack do not darken twice.
 */
export function drawMark(s: Scene, rng: Rng, part: PartShape, kind: DefectKind): [number, number, number, number] | null {
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

/** Draws the planned defects; the truth lists only those that ended up visible. */
export function drawDefects(scene: Scene, drng: Rng, part: PartShape, plan: DefectPlan): FrameTruth {
  const truthKinds: string[] = [];
  const boxes: Array<[number, number, number, number]> = [];
  let biteIdx = 0;
  for (const kind of plan.planned) {
    let box: [number, number, number, number] | null = null;
    if (kind === 'missing') {
      const bite = plan.bites[biteIdx++];
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
  return { defective: boxes.length > 0, kinds: truthKinds, boxes };
}
