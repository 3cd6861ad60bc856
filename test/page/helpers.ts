import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { expect } from 'vitest';
import { takeSseEvents } from '../../src/bench/sse.js';
import { opencv } from '../../src/preprocess/opencv.js';

/**
 * Debian's Chromium, driven by playwright-core: never a browser download, no network beyond
 * loopback, a fresh profile per run.
 */
export async function launchChromium(viewport: { width: number; height: number }): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'inspectd-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Reads a Server-Sent Events stream for a while: each event's name, data and arrival time. */
export async function readEvents(url: string, forMs: number): Promise<{ event: string; data: string; at: number }[]> {
  const ac = new AbortController();
  const out: { event: string; data: string; at: number }[] = [];
  const res = await fetch(url, { signal: ac.signal });
  const reader = res.body!.getReader();
  const timer = setTimeout(() => ac.abort(), forMs);
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const taken = takeSseEvents(buf + Buffer.from(value).toString('utf8'));
      buf = taken.rest;
      for (const e of taken.events) out.push({ ...e, at: Date.now() });
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
  }
  return out;
}

/**
 * The heat map's opacity at the decoder's pixel threshold (0.5): the page's colour ramp
 * (heat-map.ts) gives 255 * 0.75 * sqrt((0.5 - 0.2) / 0.8) = 117. Cells at least this opaque are
 * the ones the decoder turned into regions, hence into the logged boxes.
 */
export const ALPHA_AT_THRESHOLD = 115;
export type Box = [number, number, number, number];

/** How many of the map's cells at or above the pixel threshold have their centre in no logged box (one cell of slack). */
export function hotCellsOutside(map: { width: number; height: number; alpha: number[] }, boxes: Box[], frame: { width: number; height: number }): number {
  const cw = frame.width / map.width;
  const ch = frame.height / map.height;
  let outside = 0;
  for (let y = 0; y < map.height; y++)
    for (let x = 0; x < map.width; x++) {
      if (map.alpha[y * map.width + x]! < ALPHA_AT_THRESHOLD) continue;
      const fx = (x + 0.5) * cw;
      const fy = (y + 0.5) * ch;
      if (!boxes.some(([bx, by, bw, bh]) => fx >= bx - cw && fx <= bx + bw + cw && fy >= by - ch && fy <= by + bh + ch)) outside++;
    }
  return outside;
}

type ScreenRect = { left: number; top: number; width: number; height: number };
export interface LiveMapView {
  seq: number;
  src: string;
  img: ScreenRect & { naturalWidth: number; naturalHeight: number };
  map: ScreenRect;
  /** The map's PNG as the page loaded it, read back through a canvas: one alpha value per cell. */
  cells: { width: number; height: number; alpha: number[] };
  boxes: ScreenRect[];
}

/**
 * Runs in the page (Chromium or Firefox: it is sent as source, so it uses nothing from this file):
 * the camera's shown FAIL with its boxes and loaded defect map, or undefined while there is none.
 * Read in one evaluation, since the next update may replace the frame.
 */
export function liveMapView(camera: string): LiveMapView | undefined {
  const layer = document.querySelector<HTMLElement>(`.camera[data-camera="${camera}"] .overlay`);
  const map = layer?.querySelector<HTMLImageElement>('img.defect-map');
  const boxes = [...(layer?.querySelectorAll<HTMLElement>('.defect-box') ?? [])];
  if (!layer || !map || !map.complete || map.naturalWidth === 0 || boxes.length === 0) return undefined;
  const img = layer.parentElement!.querySelector<HTMLImageElement>(':scope > img')!;
  const canvas = document.createElement('canvas');
  canvas.width = map.naturalWidth;
  canvas.height = map.naturalHeight;
  const g = canvas.getContext('2d')!;
  g.drawImage(map, 0, 0);
  const px = g.getImageData(0, 0, canvas.width, canvas.height).data;
  const rect = (e: Element) => {
    const r = e.getBoundingClientRect();
    return { left: r.left, top: r.top, width: r.width, height: r.height };
  };
  return {
    seq: Number(layer.dataset.seq),
    src: map.getAttribute('src')!,
    img: { ...rect(img), naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight },
    map: rect(map),
    cells: { width: map.naturalWidth, height: map.naturalHeight, alpha: Array.from({ length: px.length / 4 }, (_, i) => px[i * 4 + 3]!) },
    boxes: boxes.map(rect),
  };
}

/**
 * An archived map (its PNG, decoded here with OpenCV) against two screenshots of the image it is
 * drawn over, with and without it: how much redder the map makes its hottest cell (BGR: red against
 * blue and green), and the largest channel change on a cell it leaves clear. Also its alpha cells.
 */
export function mapOnScreenshots(mapPng: Buffer, withMap: Buffer, withoutMap: Buffer): { alpha: { width: number; height: number; alpha: number[] }; hottestAlpha: number; redGainAtHottest: number; changeAtClear: number } {
  const cv = opencv();
  const png = cv.imdecode(mapPng, cv.IMREAD_UNCHANGED);
  expect(png.channels).toBe(4);
  const bgra = png.getData();
  const alpha = Array.from({ length: png.rows * png.cols }, (_, i) => bgra[i * 4 + 3]!);
  const hottest = alpha.indexOf(Math.max(...alpha));
  const clear = alpha.indexOf(0);
  expect(clear, 'a clear cell in the map').toBeGreaterThanOrEqual(0);
  const at = (shot: Buffer) => {
    const m = cv.imdecode(shot, cv.IMREAD_COLOR);
    return (cell: number): number[] => {
      const v = m.at(Math.floor(((Math.floor(cell / png.cols) + 0.5) * m.rows) / png.rows), Math.floor((((cell % png.cols) + 0.5) * m.cols) / png.cols)) as unknown as { x: number; y: number; z: number };
      return [v.x, v.y, v.z];
    };
  };
  const a = at(withMap);
  const b = at(withoutMap);
  const redness = ([bl, g, r]: number[]) => r! - (bl! + g!) / 2;
  return {
    alpha: { width: png.cols, height: png.rows, alpha },
    hottestAlpha: alpha[hottest]!,
    redGainAtHottest: redness(a(hottest)) - redness(b(hottest)),
    changeAtClear: Math.max(...a(clear).map((v, i) => Math.abs(v - b(clear)[i]!))),
  };
}
