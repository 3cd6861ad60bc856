/** The steps of one frame's way through a scheduler, timed for the bench and the stop log. */
/**
 * infer: the run's whole round trip as the main thread sees it; session: the part of it spent in the
 * runtime on the inference thread (backends that report it), so the two can be told apart.
 */
export type Stage = 'prepare' | 'wait' | 'infer' | 'session' | 'judge';

/** Percentiles of the most recent samples per stage: a fixed ring, so memory never grows with uptime. */
export class StageTimes {
  private static readonly SIZE = 8192;
  private readonly rings = new Map<Stage, { data: Float64Array; n: number }>();

  observe(stage: Stage, ms: number): void {
    let r = this.rings.get(stage);
    if (!r) {
      r = { data: new Float64Array(StageTimes.SIZE), n: 0 };
      this.rings.set(stage, r);
    }
    r.data[r.n % StageTimes.SIZE] = ms;
    r.n++;
  }

  /** p50/p99 per stage over the last samples, in ms rounded to 0.01. */
  summary(): Partial<Record<Stage, { p50: number; p99: number; n: number }>> {
    const out: Partial<Record<Stage, { p50: number; p99: number; n: number }>> = {};
    for (const [stage, r] of this.rings) {
      const sorted = Array.from(r.data.subarray(0, Math.min(r.n, StageTimes.SIZE))).sort((a, b) => a - b);
      const at = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 100) / 100;
      out[stage] = { p50: at(0.5), p99: at(0.99), n: r.n };
    }
    return out;
  }
}
