import type { Logger } from 'pino';
import type { CameraConfig } from '../config/schema.js';
import type { Telemetry } from '../ops/telemetry.js';
import type { Scheduler } from '../schedule/scheduler.js';
import type { Frame, FrameSource, SourceEvents } from '../source/frame.js';
import type { TriggerDesk } from '../source/trigger.js';
import type { CameraInspection } from './camera.js';
import type { OpenModel } from './model.js';

/** What a running camera's frames need from the daemon around it. */
export interface CameraWiring {
  log: Logger;
  telemetry: Telemetry;
  /** Read per frame: a reload may change it. */
  deadlineOf(camera: string): number;
  schedulerFor(model: OpenModel): Scheduler;
  events(cam: CameraConfig, camLog: Logger): SourceEvents;
}

/** A running camera: its source, and the inspection and scheduler its frames go to (a reload may swap both). */
interface LiveCamera {
  readonly source: FrameSource;
  /** The trigger desk it joined, for a PLC-triggered camera. */
  readonly triggers: TriggerDesk | undefined;
  inspection: CameraInspection;
  scheduler: Scheduler;
}

/**
 * The cameras running now, each wired to its inspection's scheduler. The inspection is read per
 * frame, so a reload swaps a camera's rules or model between two frames (`swap`), and starts or
 * stops single cameras without touching the others.
 */
export class LineCameras {
  private readonly running = new Map<string, LiveCamera>();
  /** Paused by an operator: frames are taken (the camera stays up) but not judged, and counted. */
  private paused = false;
  private framesWhilePaused = 0;

  constructor(private readonly wiring: CameraWiring) {}

  inspectionOf(camera: string): CameraInspection | undefined {
    return this.running.get(camera)?.inspection;
  }

  has(camera: string): boolean {
    return this.running.has(camera);
  }

  /** The models the running cameras use (a model not among them can be retired). */
  models(): Set<OpenModel> {
    return new Set([...this.running.values()].map((c) => c.inspection.model));
  }

  /** Pauses or resumes judging on every camera; resuming answers how many frames went unjudged meanwhile. */
  setPaused(paused: boolean): number {
    const skipped = this.framesWhilePaused;
    this.paused = paused;
    this.framesWhilePaused = 0;
    return skipped;
  }

  /** Starts a camera; with `triggers` its frames are parts only when the PLC asked for one. */
  async start(cam: CameraConfig, source: FrameSource, inspection: CameraInspection, triggers?: TriggerDesk): Promise<void> {
    const { wiring } = this;
    const camLog = wiring.log.child({ component: 'camera', camera: cam.name });
    const live: LiveCamera = { source, triggers, inspection, scheduler: wiring.schedulerFor(inspection.model) };
    this.running.set(cam.name, live);
    triggers?.addCamera(cam.name, source);
    await source.start(
      (frame: Frame) => {
        if (this.paused) {
          // Not a part to judge: the line is paused on purpose (and idle for the watchdog).
          this.framesWhilePaused++;
          frame.image.release();
          return;
        }
        wiring.telemetry.frameIn(frame.camera);
        // Read per frame, not captured at start: a live reload may change the deadline, the rules or the model.
        const deadlineMs = wiring.deadlineOf(cam.name);
        if (!triggers) return live.scheduler.submit(frame, deadlineMs, live.inspection);
        const part = triggers.tag(frame);
        if (part) live.scheduler.submit(part, deadlineMs, live.inspection);
        else frame.image.release();
      },
      (err) => {
        wiring.telemetry.setCameraState(cam.name, 'down', err.message);
        camLog.warn({ event: 'camera.problem', code: 'INSPECTD_SOURCE', err: err.message }, 'camera problem');
      },
      wiring.events(cam, camLog),
    );
    // Not "started": the camera is up only once it delivers; its state lines say when (camera up/down).
    camLog.info({ event: 'camera.starting', source: cam.source.type, deadlineMs: wiring.deadlineOf(cam.name), model: inspection.modelInfo.name }, 'camera starting');
  }

  /** Between two frames: the camera's next frame goes to this inspection (new rules, or a new model and its scheduler). */
  swap(camera: string, inspection: CameraInspection): void {
    const live = this.running.get(camera)!;
    live.inspection = inspection;
    live.scheduler = this.wiring.schedulerFor(inspection.model);
  }

  /** Stops one camera; the frames it already handed over still get their verdicts. */
  async stop(camera: string): Promise<void> {
    const live = this.running.get(camera);
    // Its waiting triggers get their TIMEOUT now (no frame of this source will come for them),
    // judged by its inspection: so while it is still among the running.
    live?.triggers?.removeCamera(camera);
    this.running.delete(camera);
    await live?.source.stop().catch((err: Error) => this.wiring.log.warn({ event: 'camera.stop_failed', camera, err: err.message }, 'camera stop failed'));
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((name) => this.stop(name)));
  }
}
