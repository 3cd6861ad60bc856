import { takeSseEvents } from './sse.js';

/**
 * Pages watching the daemon during a bench run, as a browser's operator page does: one
 * Server-Sent Events stream each, and on every update the shown frame of each camera fetched (the
 * JPEG the page would display), with its defect map's PNG when it has one (a FAIL of a map model). The browser's own rendering is not here: on the line it runs on
 * another machine (a tablet, the shop-floor PC), not on the inspection box.
 */
export interface PageWatcherFigures {
  pages: number;
  /** Updates received over all pages, per second of the run. */
  updatesPerS: number;
  /** Frame JPEGs fetched over all pages, per second, and their size (defect maps' PNGs included in the bytes). */
  framesPerS: number;
  /** Defect maps' PNGs fetched over all pages, per second. */
  mapsPerS: number;
  kibPerS: number;
}

export class PageWatchers {
  private readonly aborts: AbortController[] = [];
  private updates = 0;
  private frames = 0;
  private maps = 0;
  private bytes = 0;
  private counting = false;
  private t0 = 0;

  constructor(
    private readonly base: string,
    readonly count: number,
  ) {}

  open(): void {
    for (let i = 0; i < this.count; i++) {
      const ac = new AbortController();
      this.aborts.push(ac);
      void this.watch(ac.signal).catch(() => {});
    }
  }

  startCounting(): void {
    this.counting = true;
    this.t0 = Date.now();
  }

  figures(): PageWatcherFigures {
    const s = Math.max(0.001, (Date.now() - this.t0) / 1000);
    const r = (x: number) => Math.round(x * 100) / 100;
    return { pages: this.count, updatesPerS: r(this.updates / s), framesPerS: r(this.frames / s), mapsPerS: r(this.maps / s), kibPerS: r(this.bytes / 1024 / s) };
  }

  close(): void {
    this.counting = false;
    for (const ac of this.aborts) ac.abort();
  }

  private async watch(signal: AbortSignal): Promise<void> {
    // The HTTP server answers 503 until the daemon has started (its models load first): retry, as EventSource does.
    let res = await fetch(`${this.base}/api/live`, { signal });
    while (res.status !== 200) {
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 200));
      res = await fetch(`${this.base}/api/live`, { signal });
    }
    const reader = res.body!.getReader();
    const shown = new Set<string>();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const taken = takeSseEvents(buf + Buffer.from(value).toString('utf8'));
      buf = taken.rest;
      for (const { data } of taken.events) {
        if (this.counting) this.updates++;
        const update = JSON.parse(data) as { cameras: { frameUrl: string | null; mapUrl: string | null }[] };
        for (const c of update.cameras) {
          // A page loads a frame once, when its URL changes.
          if (!c.frameUrl || shown.has(c.frameUrl)) continue;
          shown.add(c.frameUrl);
          this.fetchCounted(c.frameUrl, signal, () => this.frames++);
          if (c.mapUrl) this.fetchCounted(c.mapUrl, signal, () => this.maps++);
        }
      }
    }
  }

  private fetchCounted(url: string, signal: AbortSignal, count: () => void): void {
    void fetch(this.base + url, { signal })
      .then((r) => r.arrayBuffer())
      .then((b) => {
        if (!this.counting) return;
        count();
        this.bytes += b.byteLength;
      })
      .catch(() => {});
  }
}
