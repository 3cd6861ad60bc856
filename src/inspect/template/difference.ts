import { opencv, type Mat } from '../../preprocess/opencv.js';
import type { Registration } from './registration.js';
import { blobsOf, type BlobFeatureMaps } from './blobs.js';
import { thinPass, type ThinPassSettings } from './thinpass.js';

/** The tolerant comparison and blob rules (model.json `template.difference`). */
export interface DifferenceSettings {
  /**
   * Edge jitter the comparison forgives, px: a pixel differs only when it is brighter than the
   * brightest, or darker than the darkest, reference pixel within this distance (the reference
   * dilated and eroded by a (2t+1)² square).
   */
  tolerancePx: number;
  /** Grey levels beyond that envelope before a pixel counts as different. */
  greyThreshold: number;
  /** Opening radius, px, that removes isolated different pixels (noise, residual jitter). 0: none. */
  openPx: number;
  /** Different pixels within this distance form one blob (a broken track's two edges are one defect). */
  mergePx: number;
  /** Blobs with fewer different pixels than this are not candidates. */
  minAreaPx: number;
  /** At most this many candidates per frame, largest first: bounds the classifier's batch. */
  maxCandidates: number;
  /** Pixels this close to the frame's edge after warping are not compared (no reference there). */
  borderPx: number;
  /** The second, more sensitive pass for thin defects (thinpass.ts); absent: none. */
  thin?: ThinPassSettings;
}

/** A blob of difference, in reference pixels: where a candidate defect is. */
export interface Blob {
  box: [number, number, number, number];
  /** Different pixels in it. */
  areaPx: number;
  /** Its label in `labels` (the blob's own pixels, for the classifier's mask channel). */
  label: number;
  /** More bright-extra than dark-missing pixels (copper where the reference has none, for a bright-copper image). */
  extra: boolean;
  /** Which comparison found it: the main one, or the thin pass where the main one found nothing. */
  pass: 'main' | 'thin';
  /** Mean grey levels beyond the tolerance envelope over its different pixels (blobs.ts). */
  contrast?: number;
  /** Share of its different pixels within EDGE_NEAR_PX of a reference copper edge (blobs.ts). */
  edgeShare?: number;
}

/** How near a reference edge a different pixel counts as "at an edge", px (edge jitter sits there). */
export const EDGE_NEAR_PX = 3;

export interface Difference {
  /** The frame in reference geometry, its grey levels matched to the reference's. */
  aligned: Mat;
  /** 255 where the frame differs beyond tolerance (after opening). */
  mask: Mat;
  /** Blob labels (CV_32S) of the merged mask. */
  labels: Mat;
  blobs: Blob[];
  release(): void;
}

/**
 * The maps blobs read their features from (tools that study rules after the classifier ask for
 * them; the daemon's frames do not pay for them). A reference edge within EDGE_NEAR_PX: the grey
 * range over that square spans copper and bare board.
 */
async function featureMaps(reference: Mat, brighter: Mat, darker: Mat, greyThreshold: number): Promise<BlobFeatureMaps> {
  const cv = opencv();
  const near = square(EDGE_NEAR_PX);
  const rangeMax = await reference.dilateAsync(near);
  const rangeMin = await reference.erodeAsync(near);
  const range = rangeMax.sub(rangeMin);
  const nearEdge = range.threshold(greyThreshold, 255, cv.THRESH_BINARY);
  for (const t of [rangeMax, rangeMin, range]) t.release();
  return { excess: brighter.add(darker), nearEdge };
}

function square(radius: number): Mat {
  const cv = opencv();
  return cv.getStructuringElement(cv.MORPH_RECT, new cv.Size(2 * radius + 1, 2 * radius + 1));
}

/**
 * The frame warped into the reference's geometry (bilinear, sub-pixel) and its grey levels matched
 * to the reference by mean and spread, so a re-lit part compares like the reference, then the
 * tolerant min/max comparison, an opening, and blobs of what is left (merged within mergePx).
 */
export async function difference(frame: Mat, reference: Mat, reg: Registration, s: DifferenceSettings, opts: { blobFeatures?: boolean } = {}): Promise<Difference> {
  const cv = opencv();
  const size = new cv.Size(reference.cols, reference.rows);
  const m = new cv.Mat([reg.matrix.slice(0, 3), reg.matrix.slice(3, 6)], cv.CV_64F);
  const warped = await frame.warpAffineAsync(m, size, cv.INTER_LINEAR, cv.BORDER_REPLICATE);
  // Where the warped frame has pixels of its own: the rest has no counterpart to compare.
  const inside = await new cv.Mat(frame.rows, frame.cols, cv.CV_8UC1, 255).warpAffineAsync(m, size, cv.INTER_NEAREST, cv.BORDER_CONSTANT, new cv.Vec3(0, 0, 0));
  const valid = s.borderPx > 0 ? await inside.erodeAsync(square(s.borderPx), new cv.Point2(-1, -1), 1, cv.BORDER_CONSTANT) : inside;
  const f = await warped.meanStdDevAsync(valid);
  const r = await reference.meanStdDevAsync(valid);
  const fm = f.mean.at(0, 0);
  const fs = f.stddev.at(0, 0);
  const rm = r.mean.at(0, 0);
  const rs = r.stddev.at(0, 0);
  const gain = fs > 1 ? rs / fs : 1;
  const aligned = await warped.convertToAsync(cv.CV_8U, gain, rm - gain * fm);
  const kernel = square(s.tolerancePx);
  const refMax = s.tolerancePx > 0 ? await reference.dilateAsync(kernel) : reference;
  const refMin = s.tolerancePx > 0 ? await reference.erodeAsync(kernel) : reference;
  // uint8 subtraction saturates at 0: only the excess beyond the envelope remains.
  const brighter = aligned.sub(refMax);
  const darker = refMin.sub(aligned);
  const extraMask = brighter.threshold(s.greyThreshold, 255, cv.THRESH_BINARY);
  const missingMask = darker.threshold(s.greyThreshold, 255, cv.THRESH_BINARY);
  let mask = extraMask.bitwiseOr(missingMask);
  mask = mask.bitwiseAnd(valid);
  if (s.openPx > 0) mask = await mask.morphologyExAsync(square(s.openPx), cv.MORPH_OPEN);
  const merged = s.mergePx > 0 ? await mask.dilateAsync(square(s.mergePx)) : mask;
  const cc = await merged.connectedComponentsWithStatsAsync(8, cv.CV_32S);
  const maps = opts.blobFeatures ? await featureMaps(reference, brighter, darker, s.greyThreshold) : undefined;
  const main = blobsOf(cc.stats, cc.labels, mask, extraMask, s.minAreaPx, 'main', maps);
  let labels = cc.labels;
  let blobs = main.slice(0, s.maxCandidates);
  if (s.thin) {
    const thin = await thinPass({ brighter, darker, valid, merged, mask, labels: cc.labels, labelCount: cc.stats.rows, maps }, s, s.thin);
    blobs = blobs.concat(thin.blobs);
    labels = thin.labels;
    const combined = thin.mask;
    mask.release();
    mask = combined;
  }
  const temps = [warped, inside, valid, brighter, darker, extraMask, missingMask, merged, cc.stats, cc.centroids];
  if (maps) temps.push(maps.excess, maps.nearEdge);
  if (labels !== cc.labels) temps.push(cc.labels);
  if (refMax !== reference) temps.push(refMax);
  if (refMin !== reference) temps.push(refMin);
  for (const t of temps) if (t !== mask) t.release();
  return {
    aligned,
    mask,
    labels,
    blobs,
    release() {
      aligned.release();
      mask.release();
      labels.release();
    },
  };
}

