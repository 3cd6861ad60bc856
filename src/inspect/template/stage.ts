import { performance } from 'node:perf_hooks';
import type { InputRegion } from '../../decode/decoder.js';
import type { ModelSpec, TemplateSpec } from '../../model/spec.js';
import { opencv, type Mat } from '../../preprocess/opencv.js';
import type { PreparedInput } from '../../preprocess/preprocess.js';
import { difference, type Blob } from './difference.js';
import { patchTensor } from './patches.js';
import type { TopologyWindow } from './topology.js';
import { boxToFrame, register, type Reference, type Registration } from './registration.js';

export interface TemplatePrepared extends PreparedInput {
  regions: InputRegion[];
  /** The blob behind each region, in reference pixels (which pass found it, its polarity): for tools that study candidates. */
  blobs: Blob[];
  /** Each region's topology cell under each of `opts.topologyVariants` ([variant][region]): for tools choosing the window. */
  topologyVariants: number[][];
  stageMs: { registerMs: number; differenceMs: number; patchesMs: number };
  registration: Registration;
}

/** The candidate's box as inspectors draw it: the blob's box grown by padPx, at least minSidePx a side, about its centre. */
export function candidateBox(blob: [number, number, number, number], rule: TemplateSpec['box']): [number, number, number, number] {
  const [x, y, w, h] = blob;
  const cw = Math.max(w + 2 * rule.padPx, rule.minSidePx);
  const ch = Math.max(h + 2 * rule.padPx, rule.minSidePx);
  return [x + w / 2 - cw / 2, y + h / 2 - ch / 2, cw, ch];
}

/**
 * The golden-template kind's preparation of one frame: register it to its reference (ERROR when it
 * cannot be), compare with tolerance, cut a patch per blob. OpenCV's work runs on libuv's thread
 * pool through its async calls; what stays on the main thread is bookkeeping over a few thousand
 * pixels. Boxes come back in frame pixels. `blobFeatures`: each blob also carries its contrast and
 * edge share (blobs.ts), and `topologyVariants` each region's cell under other windows, for tools
 * that study candidates.
 */
export async function prepareAgainstReference(image: Mat, ref: Reference, spec: ModelSpec, opts: { blobFeatures?: boolean; topologyVariants?: readonly TopologyWindow[] } = {}): Promise<TemplatePrepared> {
  const cv = opencv();
  const t = spec.template!;
  const t0 = performance.now();
  const grey = image.channels === 1 ? image : await image.cvtColorAsync(cv.COLOR_BGR2GRAY);
  try {
    const registration = await register(grey, ref, t.registration);
    const t1 = performance.now();
    const diff = await difference(grey, ref.image, registration, t.difference, opts);
    const t2 = performance.now();
    try {
      const window = spec.decoder.type === 'patch-classifier' ? spec.decoder.topology?.window : undefined;
      const { tensor, dims, topology, variants } = patchTensor(diff, ref.image, diff.blobs, spec.input, { window, variants: opts.topologyVariants });
      const thinMin = t.difference.thin?.minScore;
      const regions = diff.blobs.map((b, i): InputRegion => ({
        box: boxToFrame(candidateBox(b.box, t.box), registration),
        areaPx: b.areaPx,
        topology: topology[i],
        ...(b.pass === 'thin' && thinMin !== undefined ? { minScore: thinMin } : {}),
      }));
      const t3 = performance.now();
      return {
        tensor,
        dims,
        transform: { frameWidth: image.cols, frameHeight: image.rows, scaleX: 1, scaleY: 1, padLeft: 0, padTop: 0 },
        regions,
        blobs: diff.blobs,
        topologyVariants: variants,
        registration,
        stageMs: { registerMs: t1 - t0, differenceMs: t2 - t1, patchesMs: t3 - t2 },
      };
    } finally {
      diff.release();
    }
  } finally {
    if (grey !== image) grey.release();
  }
}
