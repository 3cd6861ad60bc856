import type { Logger } from 'pino';
import type { CameraStatus, SourceEvents } from './frame.js';

/**
 * A camera's up/down state, reported once per change: a camera retried every few seconds for an
 * hour is one `down` line in the log and one retained MQTT message, not a thousand (the daemon
 * logs and publishes what this reports).
 */
export class CameraState {
  private current: CameraStatus | undefined;

  constructor(
    private readonly log: Logger,
    private readonly events: SourceEvents | undefined,
  ) {}

  get status(): CameraStatus | undefined {
    return this.current;
  }

  up(): void {
    this.set({ state: 'up', reason: null });
  }

  down(reason: string): void {
    this.set({ state: 'down', reason });
  }

  /** A clean stop is always said, even after `down`: the retained status must not keep an old reason. */
  stopped(): void {
    if (this.current?.reason !== 'stopped') this.set({ state: 'down', reason: 'stopped' }, true);
  }

  private set(next: CameraStatus, always = false): void {
    if (!always && this.current?.state === next.state) {
      // Same state, maybe a new reason (a retry failing differently): debug only.
      if (next.reason !== this.current.reason) this.log.debug({ reason: next.reason }, 'camera still down');
      return;
    }
    this.current = next;
    // The daemon's operations telemetry writes the one info/warn line per change (camera up / camera
    // down); here only debug, so a change is not logged twice.
    this.log.debug({ state: next.state, reason: next.reason }, 'camera state');
    this.events?.state?.(next);
  }
}
