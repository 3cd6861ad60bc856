import type { ModelInfo, VerdictMessage } from '../verdict/types.js';

/**
 * What the pipeline tells operations about itself. Whoever decides verdicts calls it (today the
 * daemon's verdict sink); metrics, health, the systemd watchdog and STATUS= are all built from these
 * calls and the probes below, so the pipeline never depends on any of them. Every method is cheap
 * and never throws: it runs on the main thread, between frames.
 */
export interface Telemetry {
  /** A frame reached the scheduler. */
  frameIn(camera: string): void;
  /** A verdict was decided (PASS/FAIL/ERROR answered, or TIMEOUT given at the deadline). */
  observeVerdict(msg: VerdictMessage): void;
  /** An inference result came back after its frame had already been given TIMEOUT. */
  observeLate(): void;
  setCameraState(camera: string, state: CameraState, reason?: string): void;
  setStorageState(state: StorageState, reason?: string): void;
  /** The models answering frames: at start, and again after a reload swapped one. */
  setModels(models: readonly ModelInfo[]): void;
  /** A camera a reload added (down until its first frame) or removed. */
  declareCamera(camera: string): void;
  forgetCamera(camera: string): void;
  /** An operator paused or resumed the line, by whichever channel (MQTT, HTTP, the page, OPC UA's Halt/Reset). */
  setPaused(paused: boolean): void;
}

export type CameraState = 'up' | 'down';
/** ok: writes commit; degraded: writes are retried or backed up; failed: verdicts are being lost. */
export type StorageState = 'ok' | 'degraded' | 'failed';
export const STORAGE_STATES: readonly StorageState[] = ['ok', 'degraded', 'failed'];

/** p50/p99 (ms) of one scheduler's recent frames per stage (prepare, wait, infer, judge), as the scheduler keeps them. */
export interface StageSummary {
  model: string;
  stages: Partial<Record<string, { p50: number; p99: number; n: number }>>;
}

/**
 * Read on demand (a scrape, a health check, a STATUS= line), never pushed: values the pipeline
 * already keeps. Every probe is optional, so a caller wires what it has.
 */
export interface PipelineProbes {
  /** Frames accepted and not yet settled (waiting for a worker or running). */
  queueDepth?: () => number;
  /** Frames shed so far (queue full, or skipped because they could not make their deadline). */
  shed?: () => number;
  brokerConnected?: () => boolean;
  /** Verdicts in the outbox not yet acknowledged by the broker. */
  outboxBacklog?: () => number;
  /** Per model: how long its frames spend in each stage, over its most recent frames. */
  stageTimes?: () => StageSummary[];
  /** Bytes of reject images kept, when there is an archive. */
  archiveBytes?: () => number;
  /** The verdict log's file (its -wal beside it counts too). */
  databasePath?: () => string;
  /** Since when, and by which channel, an operator paused the inspection; undefined while it runs. */
  paused?: () => { since: number; via: string } | undefined;
}

/** For callers that run without operations (benchmarks, tests of the pipeline alone). */
export const noTelemetry: Telemetry = {
  frameIn: () => {},
  observeVerdict: () => {},
  observeLate: () => {},
  setCameraState: () => {},
  setStorageState: () => {},
  setModels: () => {},
  declareCamera: () => {},
  forgetCamera: () => {},
  setPaused: () => {},
};

/**
 * One Telemetry that tells several: operations first, then outputs that show the station's state
 * themselves (the OPC UA server's camera and storage nodes). Added once at start, never removed.
 */
export class TelemetryTee implements Telemetry {
  private readonly more: Partial<Telemetry>[] = [];
  constructor(private readonly first: Telemetry) {}

  add(t: Partial<Telemetry>): void {
    this.more.push(t);
  }
  frameIn(camera: string): void {
    this.first.frameIn(camera);
    for (const t of this.more) t.frameIn?.(camera);
  }
  observeVerdict(msg: VerdictMessage): void {
    this.first.observeVerdict(msg);
    for (const t of this.more) t.observeVerdict?.(msg);
  }
  observeLate(): void {
    this.first.observeLate();
    for (const t of this.more) t.observeLate?.();
  }
  setCameraState(camera: string, state: CameraState, reason?: string): void {
    this.first.setCameraState(camera, state, reason);
    for (const t of this.more) t.setCameraState?.(camera, state, reason);
  }
  setStorageState(state: StorageState, reason?: string): void {
    this.first.setStorageState(state, reason);
    for (const t of this.more) t.setStorageState?.(state, reason);
  }
  setModels(models: readonly ModelInfo[]): void {
    this.first.setModels(models);
    for (const t of this.more) t.setModels?.(models);
  }
  declareCamera(camera: string): void {
    this.first.declareCamera(camera);
    for (const t of this.more) t.declareCamera?.(camera);
  }
  forgetCamera(camera: string): void {
    this.first.forgetCamera(camera);
    for (const t of this.more) t.forgetCamera?.(camera);
  }
  setPaused(paused: boolean): void {
    this.first.setPaused(paused);
    for (const t of this.more) t.setPaused?.(paused);
  }
}

/** The verdict log's state as operations names it: retried writes are degraded, verdicts left out of the log failed. */
export function storageStateOf(s: { ok: boolean; unloggedVerdicts: number }): StorageState {
  return s.ok ? 'ok' : s.unloggedVerdicts > 0 ? 'failed' : 'degraded';
}
