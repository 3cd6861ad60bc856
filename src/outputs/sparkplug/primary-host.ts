/**
 * The primary host application's STATE (Sparkplug 3.0, section "Primary Host Application STATE"): a
 * SCADA host publishes `spBv1.0/STATE/{hostId}` retained, `{"online":true,"timestamp":ms}` when it
 * comes up and the same with `online:false` as its will. An edge node configured with that host id
 * sends NBIRTH only while the host is online, and on `online:false` sends NDEATH and reconnects, so
 * a host that was down never misses a birth (and, here, gets what it missed from the log as history).
 */
export function stateTopic(hostId: string): string {
  return `spBv1.0/STATE/${hostId}`;
}

export type HostState = 'online' | 'offline' | 'stale' | 'invalid';

/**
 * Reads STATE messages in arrival order. One whose timestamp is older than the last one taken is
 * stale and ignored, as the specification says: a retained message delivered late (or a will of an
 * older session) must not undo a newer state.
 */
export class PrimaryHostWatch {
  private lastTimestamp = -1;
  online = false;

  accept(payload: Buffer): HostState {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      return 'invalid';
    }
    const s = parsed as { online?: unknown; timestamp?: unknown };
    if (typeof s !== 'object' || s === null || typeof s.online !== 'boolean' || typeof s.timestamp !== 'number') return 'invalid';
    if (s.timestamp < this.lastTimestamp) return 'stale';
    this.lastTimestamp = s.timestamp;
    this.online = s.online;
    return s.online ? 'online' : 'offline';
  }

  /** A new connection: the host's state is unknown until the retained STATE arrives again. */
  reset(): void {
    this.online = false;
  }
}
