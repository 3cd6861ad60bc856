import { opencv, type Mat } from '../../preprocess/opencv.js';
import { blobsOf, type BlobFeatureMaps } from './blobs.js';
import type { Blob, DifferenceSettings } from './difference.js';

/**
 * The thin-defect pass (model.json `template.difference.thin`): a second comparison, more
 * sensitive than the main one, looked at only where the main one found nothing. A shallow
 * mousebite is a bite one or two pixels deep into a track's edge: after the 1 px edge tolerance
 * what is left is too thin for the main pass's opening, which is there to remove edge jitter
 * along every track. Here the opening is smaller (or none) and the grey threshold may be lower,
 * so jitter would flood the frame if this pass replaced the main one; kept to the places the main
 * pass left empty, it adds a few candidates a frame, and each goes through the same classifier.
 */
export interface ThinPassSettings {
  /** Grey levels beyond the tolerance envelope before a pixel counts (the main pass's or lower). */
  greyThreshold: number;
  /** Opening radius, px (0: none; the main pass's is larger). */
  openPx: number;
  /** Blobs with fewer different pixels than this are not candidates. */
  minAreaPx: number;
  /** At most this many thin candidates per frame, largest first (on top of the main pass's). */
  maxCandidates: number;
  /** bright: only where the frame is brighter than the reference (copper missing: mousebites, opens). */
  polarity: 'bright' | 'any';
  /** The probability a thin candidate's class needs (applied by the decoder, region.minScore). */
  minScore: number;
}

/** What the main comparison left for the thin pass to add to. */
export interface MainPass {
  /** Excess over the dilated / under the eroded reference (CV_8U, saturated at 0). */
  brighter: Mat;
  darker: Mat;
  /** 255 where the frame is compared at all. */
  valid: Mat;
  /** The main pass's merged mask: the area its blobs already cover. */
  merged: Mat;
  /** The main pass's different pixels and its blob labels (CV_32S), `labelCount` labels with 0. */
  mask: Mat;
  labels: Mat;
  labelCount: number;
  /** The main pass's feature maps, read for the thin blobs too. */
  maps?: BlobFeatureMaps;
}

/**
 * The thin pass's blobs (labels numbered after the main pass's), with the labels and mask of both
 * passes together, so the patches' blob channel reads either kind the same way.
 */
export async function thinPass(main: MainPass, s: DifferenceSettings, thin: ThinPassSettings): Promise<{ blobs: Blob[]; labels: Mat; mask: Mat }> {
  const cv = opencv();
  const square = (r: number) => cv.getStructuringElement(cv.MORPH_RECT, new cv.Size(2 * r + 1, 2 * r + 1));
  const extra = main.brighter.threshold(thin.greyThreshold, 255, cv.THRESH_BINARY);
  const missing = main.darker.threshold(thin.greyThreshold, 255, cv.THRESH_BINARY);
  const outside = main.merged.bitwiseNot();
  let mask = (thin.polarity === 'bright' ? extra : extra.bitwiseOr(missing)).bitwiseAnd(main.valid);
  if (thin.openPx > 0) mask = await mask.morphologyExAsync(square(thin.openPx), cv.MORPH_OPEN);
  mask = mask.bitwiseAnd(outside);
  const merged = s.mergePx > 0 ? await mask.dilateAsync(square(s.mergePx)) : mask;
  const cc = await merged.connectedComponentsWithStatsAsync(8, cv.CV_32S);
  const blobs = blobsOf(cc.stats, cc.labels, mask, extra, thin.minAreaPx, 'thin', main.maps).slice(0, thin.maxCandidates);
  // Both passes in one labelling: thin labels after the main ones, only where the main pass has none.
  const own = new Int32Array(new Uint8Array(main.labels.getData()).buffer);
  const add = new Int32Array(new Uint8Array(cc.labels.getData()).buffer);
  const offset = main.labelCount - 1;
  for (let i = 0; i < own.length; i++) if (own[i] === 0 && add[i]! > 0) own[i] = add[i]! + offset;
  for (const b of blobs) b.label += offset;
  const labels = new cv.Mat(Buffer.from(own.buffer, own.byteOffset, own.byteLength), main.labels.rows, main.labels.cols, cv.CV_32S);
  const both = main.mask.bitwiseOr(mask);
  for (const t of [extra, missing, outside, mask, merged, cc.labels, cc.stats, cc.centroids]) t.release();
  return { blobs, labels, mask: both };
}
