import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { takeSseEvents } from '../../src/bench/sse.js';

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
