import type { Mat } from '../../preprocess/opencv.js';
import type { Blob } from './difference.js';

/**
 * The blobs of one labelling, largest first: per-blob pixel counts over each blob's own box only
 * (a few thousand pixels a frame, not the frame). `mask` holds the different pixels, `extra` the
 * brighter-than-reference ones; blobs under `minAreaPx` are dropped.
 */
export function blobsOf(statsMat: Mat, labelsMat: Mat, mask: Mat, extra: Mat, minAreaPx: number, pass: Blob['pass']): Blob[] {
  const stats = statsMat.getDataAsArray() as number[][];
  const labelData = new Int32Array(new Uint8Array(labelsMat.getData()).buffer);
  const extraData = extra.getData();
  const maskData = mask.getData();
  const cols = mask.cols;
  const blobs: Blob[] = [];
  for (let label = 1; label < stats.length; label++) {
    const [x, y, w, h] = stats[label]! as [number, number, number, number];
    let areaPx = 0;
    let extraPx = 0;
    for (let yy = y; yy < y + h; yy++) {
      for (let xx = x; xx < x + w; xx++) {
        const i = yy * cols + xx;
        if (labelData[i] !== label || maskData[i] === 0) continue;
        areaPx++;
        if (extraData[i] !== 0) extraPx++;
      }
    }
    if (areaPx < minAreaPx) continue;
    blobs.push({ box: [x, y, w, h], areaPx, label, extra: 2 * extraPx >= areaPx, pass });
  }
  return blobs.sort((p, q) => q.areaPx - p.areaPx);
}
