import type { Mat } from '../../preprocess/opencv.js';
import type { Blob } from './difference.js';

/** Per-pixel maps a blob's features are read from (both in reference pixels, CV_8U). */
export interface BlobFeatureMaps {
  /** Grey levels beyond the tolerance envelope, either way (brighter + darker: at most one is non-zero). */
  excess: Mat;
  /** 255 where the reference has a copper edge within a few pixels. */
  nearEdge: Mat;
}

/**
 * The blobs of one labelling, largest first: per-blob pixel counts over each blob's own box only
 * (a few thousand pixels a frame, not the frame). `mask` holds the different pixels, `extra` the
 * brighter-than-reference ones; blobs under `minAreaPx` are dropped. With `maps`, each blob also
 * carries what the classifier's patch does not state as a number: its mean contrast and the share
 * of its pixels next to a reference edge (rules after the classifier read them).
 */
export function blobsOf(statsMat: Mat, labelsMat: Mat, mask: Mat, extra: Mat, minAreaPx: number, pass: Blob['pass'], maps?: BlobFeatureMaps): Blob[] {
  const stats = statsMat.getDataAsArray() as number[][];
  const labelData = new Int32Array(new Uint8Array(labelsMat.getData()).buffer);
  const extraData = extra.getData();
  const maskData = mask.getData();
  const excessData = maps?.excess.getData();
  const edgeData = maps?.nearEdge.getData();
  const cols = mask.cols;
  const blobs: Blob[] = [];
  for (let label = 1; label < stats.length; label++) {
    const [x, y, w, h] = stats[label]! as [number, number, number, number];
    let areaPx = 0;
    let extraPx = 0;
    let excessSum = 0;
    let edgePx = 0;
    for (let yy = y; yy < y + h; yy++) {
      for (let xx = x; xx < x + w; xx++) {
        const i = yy * cols + xx;
        if (labelData[i] !== label || maskData[i] === 0) continue;
        areaPx++;
        if (extraData[i] !== 0) extraPx++;
        if (excessData) excessSum += excessData[i]!;
        if (edgeData && edgeData[i] !== 0) edgePx++;
      }
    }
    if (areaPx < minAreaPx) continue;
    const blob: Blob = { box: [x, y, w, h], areaPx, label, extra: 2 * extraPx >= areaPx, pass };
    if (maps && areaPx > 0) {
      blob.contrast = excessSum / areaPx;
      blob.edgeShare = edgePx / areaPx;
    }
    blobs.push(blob);
  }
  return blobs.sort((p, q) => q.areaPx - p.areaPx);
}
