import type { ModelInfo } from '../verdict/types.js';
import type { PipelineHeartbeat } from './heartbeat.js';
import type { CameraState, PipelineProbes, StorageState } from './telemetry.js';

/** One check of /readyz: ok, and what was seen. */
export interface Check {
  ok: boolean;
  [detail: string]: unknown;
}

export interface Liveness {
  alive: boolean;
  /** How long frames have waited with no frame answered (ms). */
  waitingMs: number;
  stallMs: number;
  lastAnswerAt: number | null;
}

export interface Readiness {
  ready: boolean;
  checks: { model: Check; cameras: Check; broker: Check; storage: Check; pipeline: Check; inspection: Check };
}

interface CameraStatus {
  state: CameraState;
  reason?: string;
  since: number;
  /** Not heard from yet: counted as down, but its first report is still news. */
  declared?: boolean;
}

/**
 * Liveness and readiness, from what telemetry reported and what the probes read now.
 * - alive (/healthz): the process answers and the pipeline is not stalled (the watchdog's signal).
 * - ready (/readyz): model loaded, every camera up, the broker connected or the outbox within bounds
 *   (a short broker outage loses nothing: verdicts wait in the outbox), storage writing, and alive.
 */
export class HealthState {
  private models: readonly ModelInfo[] = [];
  private readonly cameras = new Map<string, CameraStatus>();
  private storage: { state: StorageState; reason?: string } = { state: 'ok' };
  private probes: PipelineProbes = {};

  constructor(
    private readonly heartbeat: PipelineHeartbeat,
    private readonly readyMaxBacklog: number,
  ) {}

  attach(probes: PipelineProbes): void {
    this.probes = probes;
  }

  declareCamera(camera: string): void {
    if (!this.cameras.has(camera)) this.cameras.set(camera, { state: 'down', reason: 'no frame yet', since: Date.now(), declared: true });
  }

  /** Returns true when the state changed (for a log line per change, not per frame). */
  setCamera(camera: string, state: CameraState, reason?: string): boolean {
    const prev = this.cameras.get(camera);
    if (prev && prev.state === state && !prev.declared) {
      // Same state: keep when it began, but show the latest reason (a camera retried with backoff).
      if (reason) prev.reason = reason;
      return false;
    }
    this.cameras.set(camera, { state, ...(reason ? { reason } : {}), since: prev && prev.state === state ? prev.since : Date.now() });
    return true;
  }

  cameraState(camera: string): CameraState | undefined {
    return this.cameras.get(camera)?.state;
  }

  setStorage(state: StorageState, reason?: string): boolean {
    if (this.storage.state === state) return false;
    this.storage = { state, ...(reason ? { reason } : {}) };
    return true;
  }

  /** The models answering frames now (a reload may swap one). */
  setModels(models: readonly ModelInfo[]): void {
    this.models = [...models];
  }

  /** A camera a reload removed: no longer part of readiness. */
  forgetCamera(camera: string): void {
    this.cameras.delete(camera);
  }

  liveness(): Liveness {
    return {
      alive: !this.heartbeat.stalled(),
      waitingMs: this.heartbeat.waitingMs(),
      stallMs: this.heartbeat.stallMs,
      lastAnswerAt: this.heartbeat.lastAnswerAt ?? null,
    };
  }

  readiness(): Readiness {
    const cams = Object.fromEntries([...this.cameras].map(([name, s]) => [name, { state: s.state, since: s.since, ...(s.reason ? { reason: s.reason } : {}) }]));
    const connected = this.probes.brokerConnected?.() ?? false;
    const backlog = this.probes.outboxBacklog?.() ?? 0;
    const live = this.liveness();
    const paused = this.probes.paused?.();
    const checks = {
      model: { ok: this.models.length > 0, ...(this.models.length > 0 ? { model: this.models[0], models: this.models } : {}) },
      cameras: { ok: this.cameras.size > 0 && [...this.cameras.values()].every((c) => c.state === 'up'), cameras: cams },
      broker: { ok: connected || backlog <= this.readyMaxBacklog, connected, backlog, maxBacklog: this.readyMaxBacklog },
      storage: { ok: this.storage.state !== 'failed', ...this.storage },
      pipeline: { ok: live.alive, waitingMs: live.waitingMs, stallMs: live.stallMs },
      // Paused by an operator: alive, but not judging parts, so not ready for the line.
      inspection: paused ? { ok: false, paused: true, ...paused } : { ok: true, paused: false },
    };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }
}
