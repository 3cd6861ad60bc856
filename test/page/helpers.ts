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
