import { performance } from 'node:perf_hooks';

/**
 * CPU time of the whole process (every thread: inference workers, the verdict writer, libuv's pool)
 * since start(), in percent of one core. Less swayed by a loaded machine than latencies are, so the
 * bench can tell what a feature costs (e.g. operator pages watching) on a box it shares.
 */
export class CpuShare {
  private from: { usage: NodeJS.CpuUsage; at: number } | undefined;

  start(): void {
    this.from = { usage: process.cpuUsage(), at: performance.now() };
  }

  pctOfCore(): number {
    if (!this.from) return 0;
    const used = process.cpuUsage(this.from.usage);
    const elapsedMs = performance.now() - this.from.at;
    return elapsedMs > 0 ? Math.round((10_000 * (used.user + used.system)) / 1000 / elapsedMs) / 100 : 0;
  }
}
