import type { VerdictMessage } from '../../verdict/types.js';
import { nodeMetrics, zeroCounts, type NodeValues, type VerdictCounts } from './metrics.js';
import type { Metric } from './payload.js';

/**
 * The counts by verdict per camera (a device's count/* metrics) and the node's own values summed
 * from them, with what was last sent, so NDATA reports by exception: only what changed since the
 * NBIRTH or the last NDATA.
 */
export class NodeValuesReport {
  private readonly counts = new Map<string, VerdictCounts>();
  private ok = true;
  private sent: NodeValues | undefined;

  constructor(
    cameras: readonly string[],
    /** What this output still owes from the log (the node's `backlog`). */
    private readonly backlog: () => number,
  ) {
    for (const cam of cameras) this.counts.set(cam, zeroCounts());
  }

  /** A camera's counts (zero for one not seen before). */
  of(camera: string): VerdictCounts {
    let c = this.counts.get(camera);
    if (!c) this.counts.set(camera, (c = zeroCounts()));
    return c;
  }

  /** A verdict sent: its camera's counts, now including it. */
  count(msg: VerdictMessage): VerdictCounts {
    const c = this.of(msg.camera);
    c[msg.verdict]++;
    return c;
  }

  /** Whether the verdict log can be written (the node's `storage/ok`). */
  get storageOk(): boolean {
    return this.ok;
  }

  set storageOk(ok: boolean) {
    this.ok = ok;
  }

  /** The node's values for an NBIRTH, remembered as sent. */
  forBirth(at: number): Metric[] {
    this.sent = this.values();
    return nodeMetrics(this.sent, at);
  }

  /** The node's metrics that changed since the last birth or NDATA, remembered as sent; none before a birth. */
  changed(at: number): Metric[] {
    if (!this.sent) return [];
    const before = nodeMetrics(this.sent, at);
    const values = this.values();
    const changed = nodeMetrics(values, at).filter((m, i) => m.value !== before[i]!.value);
    if (changed.length > 0) this.sent = values;
    return changed;
  }

  private values(): NodeValues {
    const counts = zeroCounts();
    for (const c of this.counts.values()) for (const k of Object.keys(counts) as (keyof VerdictCounts)[]) counts[k] += c[k];
    return { counts, backlog: this.backlog(), storageOk: this.ok };
  }
}
