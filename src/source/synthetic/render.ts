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
import { bgrTint, toBgr } from './colour.js';
import { drawDefects, planDefects } from './defects.js';
import { light } from './lighting.js';
import { DEFECT_KINDS, type DefectKind, type RenderedPart, type RenderPartParams, validate } from './params.js';
import { placeHoles, placeSmudges, planPart } from './part.js';
import { frameStreamSeed, mulberry32, STREAM_DEFECT, STREAM_PART, uniform } from './rng.js';
import type { Scene } from './scene.js';
import { ensureScratch } from './scratch.js';
import { drawHole, drawSmudge, drawSurface } from './surface.js';
import { TEX, TEX_ONE, textureBank } from './texture.js';

export { DEFECT_KINDS, type DefectKind, type RenderedPart, type RenderPartParams, type SyntheticPartOptions } from './params.js';
export { frameStreamSeed, mulberry32, type Rng } from './rng.js';

export function renderPart(params: RenderPartParams, into?: Uint8Array): RenderedPart {
  const { width: w, height: h, channels } = params;
  validate(params);
  const kinds = (params.defectKinds ?? DEFECT_KINDS) as DefectKind[];
  const n = w * h;
  const scratch = ensureScratch(n, w, h);
  const bank = textureBank(params.seed);
  const rng = mulberry32(frameStreamSeed(params.seed, params.index, STREAM_PART));
  const drng = mulberry32(frameStreamSeed(params.seed, params.index, STREAM_DEFECT));

  const pixels = into ?? new Uint8Array(n * channels);
  if (pixels.length !== n * channels) {
    throw new InspectdError('INSPECTD_SOURCE', `render buffer holds ${pixels.length} bytes, need ${n * channels}`);
  }
  // Mono frames render straight into the caller's buffer.
  const raw = channels === 1 ? pixels : scratch.mono.subarray(0, n);
  const out = new Uint8ClampedArray(raw.buffer, raw.byteOffset, n);
  const mask = scratch.mask;

  // ---- part stream: everything a good part looks like; the call order fixes the draw order
  const minSide = Math.min(w, h);
  const look = planPart(rng, w, h);
  const { part } = look;
  const { lCol, lColBelt, lRow } = scratch;
  const beltRow = light(rng, w, h, lCol, lColBelt, lRow);
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
  const holes = placeHoles(rng, part, minSide);
  const smudges = placeSmudges(rng, w, h, minSide);
  const tint = bgrTint(rng);

  // ---- defect stream: decided before the surface is drawn because a bite changes the outline
  const plan = planDefects(drng, params.defectRate, kinds, part, minSide);

  drawSurface(scene, part, {
    partBase: look.partBase,
    grainGain: Math.round(look.grainAmp * (256 / TEX_ONE)),
    grainAmp: look.grainAmp,
    chamfer: look.chamfer,
    shadowOff: look.shadowOff,
    shadowDepth: look.shadowDepth,
    tex: part.shape === 'disc' ? bank.turned : look.brushedAlongY ? bank.brushedV : bank.brushedH,
    lCol,
    lRow,
  });
  for (const hole of holes) drawHole(scene, hole, look.chamfer);
  for (const s of smudges) drawSmudge(scene, s.cx, s.cy, s.r, s.delta);

  const truth = drawDefects(scene, drng, part, plan);

  if (channels === 3) toBgr(raw, mask, pixels, n, tint);

  return { pixels, width: w, height: h, channels, truth };
}
