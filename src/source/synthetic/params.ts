/**
 * What a caller asks the synthetic renderer for, and the checks on it. Kept apart from the
 * drawing code so the CLI and tests can name the options without pulling in the renderer.
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

export function validate(p: RenderPartParams): void {
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
