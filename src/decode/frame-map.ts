import type { InputTransform } from '../preprocess/geometry.js';
import type { DefectMap } from '../verdict/types.js';
import { clamp } from './geometry.js';

/**
 * A model's map (w×h cells over the model input) resampled onto the frame, nearest cell, at the
 * map's own resolution: as many cells as the map spends on the frame (all w×h for a stretch), the
 * letterbox padding cut off. The result covers the frame exactly, so a page stretches it over the
 * image with no geometry of its own, and 8 bits a cell keep it small (40×32 cells: 1,280 bytes).
 */
export function mapOnFrame(map: Float32Array, w: number, h: number, inputWidth: number, inputHeight: number, t: InputTransform): DefectMap {
  const cellW = inputWidth / w;
  const cellH = inputHeight / h;
  const width = Math.max(1, Math.round((t.frameWidth * t.scaleX) / cellW));
  const height = Math.max(1, Math.round((t.frameHeight * t.scaleY) / cellH));
  const col = new Int32Array(width);
  for (let x = 0; x < width; x++) col[x] = clamp(Math.floor((((x + 0.5) * t.frameWidth) / width * t.scaleX + t.padLeft) / cellW), 0, w - 1);
  const cells = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = clamp(Math.floor((((y + 0.5) * t.frameHeight) / height * t.scaleY + t.padTop) / cellH), 0, h - 1) * w;
    for (let x = 0; x < width; x++) cells[y * width + x] = Math.round(clamp(map[row + col[x]!]!, 0, 1) * 255);
  }
  return { width, height, cells };
}
