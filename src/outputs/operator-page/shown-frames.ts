import { opencv, type Mat } from '../../preprocess/opencv.js';
import type { DefectMap } from '../../verdict/types.js';
import { heatMapPng } from './heat-map.js';

interface Shown {
  seq: number;
  /** Released as soon as the JPEG exists (or when a newer frame replaces it). */
  image: Mat | undefined;
  jpeg: Promise<Buffer> | undefined;
  /** A FAIL's defect map (anomaly-map models), drawn as a PNG when a page first asks for it. */
  map: DefectMap | undefined;
  heatMap: Promise<Buffer> | undefined;
}

/** JPEG quality of the live view: a tablet shows a 640-px-wide frame; 80 is sharp enough and small. */
const LIVE_JPEG_QUALITY = 80;

/**
 * The frame each camera's live view shows now: one per camera, replaced at the page's update rate
 * (not the frame rate), and encoded only when a page asks for it, once however many pages ask,
 * on libuv's pool (OpenCV's async encode) so the main thread only hands it over.
 */
export class ShownFrames {
  private readonly shown = new Map<string, Shown>();

  /** Shows this frame from now on; takes ownership of the image. */
  show(camera: string, seq: number, image: Mat, map?: DefectMap): void {
    const prev = this.shown.get(camera);
    if (prev) this.drop(prev);
    this.shown.set(camera, { seq, image, jpeg: undefined, map, heatMap: undefined });
  }

  /** Whether the frame shown now has a defect map to draw over it. */
  hasMap(camera: string): boolean {
    return this.shown.get(camera)?.map !== undefined;
  }

  /** The heat map PNG of the frame shown now, once however many pages ask (undefined: no map). */
  heatMap(camera: string): { seq: number; png: Promise<Buffer> } | undefined {
    const s = this.shown.get(camera);
    if (!s?.map) return undefined;
    if (!s.heatMap) {
      s.heatMap = heatMapPng(s.map);
      s.heatMap.catch(() => {});
    }
    return { seq: s.seq, png: s.heatMap };
  }

  seq(camera: string): number | undefined {
    return this.shown.get(camera)?.seq;
  }

  /** The JPEG of the frame shown now for this camera (undefined when none is kept). */
  jpeg(camera: string): { seq: number; jpeg: Promise<Buffer> } | undefined {
    const s = this.shown.get(camera);
    if (!s) return undefined;
    if (!s.jpeg) {
      const image = s.image!;
      const cv = opencv();
      s.jpeg = cv.imencodeAsync('.jpg', image, [cv.IMWRITE_JPEG_QUALITY, LIVE_JPEG_QUALITY]).finally(() => {
        image.release();
        s.image = undefined;
      });
      // A failed encode is answered as an error by the caller; it must not be an unhandled rejection here.
      s.jpeg.catch(() => {});
    }
    return { seq: s.seq, jpeg: s.jpeg };
  }

  clear(): void {
    for (const s of this.shown.values()) this.drop(s);
    this.shown.clear();
  }

  /** An image being encoded is released by its encode's finally, never under it. */
  private drop(s: Shown): void {
    if (s.image && !s.jpeg) s.image.release();
    s.image = undefined;
  }
}
