import type { MetricAliases } from './aliases.js';
import { DEVICE_REBIRTH_METRIC } from './metrics.js';
import { decodeMetrics, type DecodedMetric } from './payload.js';

export const REBIRTH_METRIC = 'Node Control/Rebirth';

/** What a host asked for in one NCMD or DCMD: a rebirth, or metrics this edge node does not take. */
export type HostCommand = { kind: 'rebirth' } | { kind: 'device-rebirth'; device: string } | { kind: 'unsupported'; metric: string | number | undefined };

/**
 * Reads an NCMD (device undefined) or a DCMD payload: Node Control/Rebirth true on the node, Device
 * Control/Rebirth true on a device. A host may name a metric by its alias only, so names are resolved
 * through the births' aliases. Throws when the payload is not Sparkplug B.
 */
export function readHostCommands(payload: Buffer, device: string | undefined, aliases: MetricAliases): HostCommand[] {
  const metrics: DecodedMetric[] = decodeMetrics(payload);
  return metrics.map((m) => {
    const name = m.name ?? (m.alias !== undefined ? aliases.resolve(device, m.alias) : undefined);
    if (device === undefined && name === REBIRTH_METRIC && m.value === true) return { kind: 'rebirth' };
    if (device !== undefined && name === DEVICE_REBIRTH_METRIC && m.value === true) return { kind: 'device-rebirth', device };
    return { kind: 'unsupported', metric: name ?? m.alias };
  });
}
