import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * How long the main thread kept its timers waiting. Node's histogram records the whole interval
 * between two ticks of its own timer, that timer's period included (an idle process reads p50 ≈ the
 * resolution), so the period is taken off: figures reported before this were 5 ms too high.
 */
export class LoopDelay {
  private static readonly resolutionMs = 2;
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: LoopDelay.resolutionMs });

  enable(): void {
    this.histogram.enable();
  }

  disable(): void {
    this.histogram.disable();
  }

  p99Ms(): number {
    return this.delayMs(this.histogram.percentile(99));
  }

  maxMs(): number {
    return this.delayMs(this.histogram.max);
  }

  private delayMs(intervalNs: number): number {
    return Math.round(Math.max(0, intervalNs / 1e6 - LoopDelay.resolutionMs) * 100) / 100;
  }
}
