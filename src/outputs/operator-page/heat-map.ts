import { readFile } from 'node:fs/promises';
import { opencv } from '../../preprocess/opencv.js';
import type { DefectMap } from '../../verdict/types.js';

/*
 * The colours of the page's heat map: clear where the map is cold, then yellow to red with rising
 * opacity, so the part stays visible under a weak response and a defect stands out. A cell at the
 * decoder's usual pixel threshold (0.5) is orange at about half opacity. Below COLD nothing is drawn.
 */
const COLD = 0.2;
const MAX_ALPHA = 0.75;

/** One RGBA row of the ramp per 8-bit map value, computed once (BGRA, OpenCV's order). */
const RAMP = (() => {
  const ramp = new Uint8Array(256 * 4);
  for (let v = 0; v < 256; v++) {
    const t = Math.max(0, (v / 255 - COLD) / (1 - COLD));
    ramp[v * 4] = 0; // blue
    ramp[v * 4 + 1] = Math.round(255 * (1 - t)); // green: yellow → red
    ramp[v * 4 + 2] = 255; // red
    ramp[v * 4 + 3] = Math.round(255 * MAX_ALPHA * Math.sqrt(t));
  }
  return ramp;
})();

/**
 * A defect map as a transparent PNG, one pixel per cell (a few hundred bytes): the browser stretches
 * it over the image with smoothing, so the page needs no canvas code. Encoded on libuv's pool.
 */
export async function heatMapPng(map: DefectMap): Promise<Buffer> {
  const cv = opencv();
  const rgba = Buffer.alloc(map.cells.length * 4);
  for (let i = 0; i < map.cells.length; i++) rgba.set(RAMP.subarray(map.cells[i]! * 4, map.cells[i]! * 4 + 4), i * 4);
  const mat = new cv.Mat(rgba, map.height, map.width, cv.CV_8UC4);
  try {
    return await cv.imencodeAsync('.png', mat);
  } finally {
    mat.release();
  }
}

/** A map the archive wrote (archivedMapPath) read back. */
export async function readArchivedMap(path: string): Promise<DefectMap> {
  const cv = opencv();
  const mat = await cv.imdecodeAsync(await readFile(path), cv.IMREAD_GRAYSCALE);
  try {
    return { width: mat.cols, height: mat.rows, cells: new Uint8Array(mat.getData()) };
  } finally {
    mat.release();
  }
}
