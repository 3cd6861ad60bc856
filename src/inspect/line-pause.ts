import type { Logger } from 'pino';
import type { TriggerDesk } from '../source/trigger.js';
import type { LineCameras } from './line-cameras.js';

/** Since when, and by which way in (MQTT command, HTTP, the operator page), the line has been paused. */
export interface PausedSince {
  since: number;
  via: string;
}

export interface LinePauseDeps {
  cameras: LineCameras;
  /** The trigger desk, once the cameras have started (undefined without a broker). */
  triggers: () => TriggerDesk | undefined;
  /** Publishes a retained station topic (`paused` here). */
  retain: (topic: string, payload: unknown) => void;
  /** Told of every pause and resume, so every channel shows the same state (OPC UA's Halted). */
  changed: (paused: boolean) => void;
  log: Logger;
}

/**
 * An operator pauses the line (a changeover, cleaning, a jam): the cameras keep running (so
 * resuming is instant and they stay `up`), but no frame is judged and every new PLC trigger is
 * refused at once with INSPECTD_TRIGGER_PAUSED, so no part waits for a verdict that cannot come;
 * triggers already waiting end as usual (TIMEOUT). Said on the retained `paused` topic, in
 * /readyz (not ready: `inspection`) and STATUS=.
 */
export class LinePause {
  private pausedSince: PausedSince | undefined;

  constructor(private readonly deps: LinePauseDeps) {}

  get since(): PausedSince | undefined {
    return this.pausedSince;
  }

  /** Said once the outputs are up, so a dashboard that connects later sees the line running. */
  announceRunning(): void {
    this.deps.retain('paused', { paused: false, since: Date.now() });
  }

  /** Returns whether anything changed (a second pause is a no-op). */
  pause(via: string): boolean {
    if (this.pausedSince) return false;
    this.pausedSince = { since: Date.now(), via };
    this.deps.cameras.setPaused(true);
    this.deps.triggers()?.setPaused(true);
    this.deps.retain('paused', { paused: true, ...this.pausedSince });
    this.deps.changed(true);
    this.deps.log.warn({ event: 'line.paused', via }, 'inspection paused by an operator: frames are not judged, triggers are refused');
    return true;
  }

  /** Judging starts again from the next frame; the frames taken while paused are counted, not judged. */
  resume(via: string): boolean {
    if (!this.pausedSince) return false;
    const pausedMs = Date.now() - this.pausedSince.since;
    this.pausedSince = undefined;
    this.deps.triggers()?.setPaused(false);
    const skipped = this.deps.cameras.setPaused(false);
    this.deps.retain('paused', { paused: false, since: Date.now(), via });
    this.deps.changed(false);
    this.deps.log.info({ event: 'line.resumed', via, pausedMs, framesNotJudged: skipped }, 'inspection resumed');
    return true;
  }
}
