import type { Metric } from './payload.js';

/**
 * Metric aliases (Sparkplug 3.0): each metric of the edge node and its devices gets a number, unique
 * across the whole node, given with its name in NBIRTH/DBIRTH; NDATA and DDATA then carry the number
 * only, which keeps a verdict's DDATA about a third smaller (the names are most of its bytes).
 * Numbers are handed out once per process and never reused, so a device removed and added again, or a
 * rebirth, never gives a host one alias with two meanings.
 */
export class MetricAliases {
  private next = 1;
  private readonly byKey = new Map<string, number>();
  private readonly nameOf = new Map<number, { device: string | undefined; name: string }>();

  /** The alias of a node metric (device undefined) or a device's metric. */
  aliasOf(device: string | undefined, name: string): number {
    const key = `${device ?? ''}\u0000${name}`;
    let alias = this.byKey.get(key);
    if (alias === undefined) {
      alias = this.next++;
      this.byKey.set(key, alias);
      this.nameOf.set(alias, { device, name });
    }
    return alias;
  }

  /** A birth's metrics: name and alias. */
  forBirth(device: string | undefined, metrics: readonly Metric[]): Metric[] {
    return metrics.map((m) => ({ ...m, alias: this.aliasOf(device, m.name!) }));
  }

  /** A data message's metrics: the alias only (the host knows the name from the birth). */
  forData(device: string | undefined, metrics: readonly Metric[]): Metric[] {
    return metrics.map(({ name, ...rest }) => ({ ...rest, alias: this.aliasOf(device, name!) }));
  }

  /** A command's metric named by alias only (a host may use either): its name, when the alias is this device's. */
  resolve(device: string | undefined, alias: number): string | undefined {
    const known = this.nameOf.get(alias);
    return known && known.device === device ? known.name : undefined;
  }
}
