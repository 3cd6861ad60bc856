import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Telemetry } from '../ops/telemetry.js';
import type { SourceEvents } from '../source/frame.js';

export interface CameraEventDeps {
  /** Publishes a retained station topic (`camera/{name}/status` here). */
  retain: (topic: string, payload: unknown) => void;
  telemetry: Telemetry;
  /** The folder replays with `exitWhenDone` the run waits for. */
  replaysToWaitFor: () => string[];
  /** Every such replay has handed over its last image (the caller stops the daemon). */
  onReplaysDone?: () => void;
}

/**
 * Camera state and replay end (issue 6), for every camera of the line. The source logs each state
 * change once; here it is published retained on {prefix}/{station}/camera/{name}/status and told to
 * operations, and a replay's end is logged and, with exitWhenDone, ends the run once every such
 * replay is done.
 */
export class CameraEvents {
  private readonly replaysDone = new Set<string>();

  constructor(private readonly deps: CameraEventDeps) {}

  for(cam: Config['cameras'][number], camLog: Logger): SourceEvents {
    return {
      state: (s) => {
        this.deps.retain(`camera/${cam.name}/status`, { camera: cam.name, state: s.state, reason: s.reason, since: Date.now() });
        this.deps.telemetry.setCameraState(cam.name, s.state, s.reason ?? undefined);
      },
      finished: ({ frames }) => {
        camLog.info({ event: 'replay.finished', frames }, 'replay finished');
        this.replaysDone.add(cam.name);
        const waitingFor = this.deps.replaysToWaitFor();
        if (waitingFor.includes(cam.name) && waitingFor.every((n) => this.replaysDone.has(n))) this.deps.onReplaysDone?.();
      },
    };
  }
}
