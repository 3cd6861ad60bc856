import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { ModelInfo, VerdictKind, VerdictMessage } from '../verdict/types.js';
import { HealthState } from './health.js';
import { PipelineHeartbeat } from './heartbeat.js';
import { PipelineMetrics } from './metrics.js';
import { SystemdNotifier } from './notify.js';
import type { CameraState, PipelineProbes, StorageState, Telemetry } from './telemetry.js';

export interface OperationsOptions {
  config: Config;
  log: Logger;
  version: string;
  /** NOTIFY_SOCKET and WATCHDOG_USEC are read from here (the process environment by default). */
  env?: NodeJS.ProcessEnv;
}

/** STATUS= and stall logging run this often when systemd asked for no watchdog. */
const STATUS_EVERY_MS = 5_000;

/**
 * Everything the process tells the outside about its health: Prometheus metrics, /healthz and
 * /readyz, and systemd's READY/RELOADING/STOPPING/WATCHDOG/STATUS. The pipeline reaches it only
 * through `Telemetry` (and a few probes it registers once); the daemon's runner calls the
 * life-cycle hooks `started()`, `reloading()`/`reloaded()` and `stopping()`.
 */
export class Operations implements Telemetry {
  readonly metrics: PipelineMetrics;
  readonly health: HealthState;
  private readonly heartbeat: PipelineHeartbeat;
  private readonly notifier: SystemdNotifier;
  private readonly log: Logger;
  private readonly counts: Record<VerdictKind, number> = { PASS: 0, FAIL: 0, TIMEOUT: 0, ERROR: 0 };
  private frames = 0;
  /** TIMEOUTs per camera since the last deadline.missed summary. */
  private missed = new Map<string, number>();
  private missedSince = Date.now();
  private phase: 'starting' | 'running' | 'stopping' = 'starting';
  private readySent = false;
  private wasStalled = false;
  private tick: NodeJS.Timeout | undefined;
  private firstFrameTimer: NodeJS.Timeout | undefined;
  private readonly firstFrameWaitMs: number;
  private probes: PipelineProbes = {};

  constructor(opts: OperationsOptions) {
    const cfg = opts.config;
    this.log = opts.log.child({ component: 'ops' });
    this.heartbeat = new PipelineHeartbeat(cfg.watchdog.stallMs);
    this.firstFrameWaitMs = cfg.watchdog.firstFrameWaitMs;
    this.health = new HealthState(this.heartbeat, cfg.http.readyMaxBacklog);
    const deadlines = [cfg.deadlineMs, ...cfg.cameras.map((c) => c.deadlineMs ?? cfg.deadlineMs)];
    this.metrics = new PipelineMetrics({ deadlinesMs: [...new Set(deadlines)], version: opts.version });
    for (const cam of cfg.cameras) this.declareCamera(cam.name);
    this.notifier = new SystemdNotifier(this.log, opts.env);
    const everyMs = this.notifier.watchdogEveryMs > 0 ? this.notifier.watchdogEveryMs : STATUS_EVERY_MS;
    this.tick = setInterval(() => this.onTick(), everyMs);
    this.tick.unref();
  }

  /** The probes the pipeline offers (scheduler, publisher, verdict log); read at scrape and health time. */
  attach(probes: PipelineProbes): void {
    this.probes = probes;
    this.metrics.attach(probes);
    this.health.attach(probes);
  }

  // ---- Telemetry: called by the pipeline, on the main thread, never throwing ----

  frameIn(camera: string): void {
    this.frames++;
    this.heartbeat.frameIn();
    this.metrics.frameIn(camera);
    // A frame is the best proof a camera is up; the source's own reports say when it went down.
    if (this.health.cameraState(camera) !== 'up') this.setCameraState(camera, 'up');
  }

  observeVerdict(msg: VerdictMessage): void {
    this.counts[msg.verdict]++;
    if (msg.verdict === 'TIMEOUT') this.missed.set(msg.camera, (this.missed.get(msg.camera) ?? 0) + 1);
    this.metrics.observeVerdict(msg);
    if (msg.verdict !== 'TIMEOUT') this.answered();
  }

  observeLate(): void {
    // Not an answer: the frame already had its TIMEOUT (see PipelineHeartbeat).
    this.metrics.observeLate();
  }

  setCameraState(camera: string, state: CameraState, reason?: string): void {
    if (!this.health.setCamera(camera, state, reason)) return;
    this.metrics.setCameraState(camera, state);
    if (state === 'down') this.log.warn({ event: 'camera.down', camera, reason }, 'camera down');
    else this.log.info({ event: 'camera.up', camera }, 'camera up');
  }

  /** Health and STATUS= read the pause on demand (PipelineProbes.paused); nothing to keep here. */
  setPaused(): void {}

  setStorageState(state: StorageState, reason?: string): void {
    if (!this.health.setStorage(state, reason)) return;
    this.metrics.setStorageState(state);
    const line = { event: `storage.${state}`, reason };
    if (state === 'ok') this.log.info(line, 'verdict log writing again');
    else this.log.error(line, 'verdict log cannot write');
  }

  setModels(models: readonly ModelInfo[]): void {
    this.health.setModels(models);
    this.metrics.setModels(models);
  }

  declareCamera(camera: string): void {
    this.metrics.declareCamera(camera);
    this.metrics.setCameraState(camera, 'down');
    this.health.declareCamera(camera);
  }

  forgetCamera(camera: string): void {
    this.metrics.forgetCamera(camera);
    this.health.forgetCamera(camera);
  }

  // ---- Life-cycle hooks, called by the runner ----

  /** The daemon has started: READY=1 follows the first answered frame (or firstFrameWaitMs without one). */
  started(): void {
    this.phase = 'running';
    if (this.heartbeat.firstAnswered) {
      this.sendReady();
      return;
    }
    this.firstFrameTimer = setTimeout(() => {
      this.log.warn({ event: 'ready.without_frame', waitedMs: this.firstFrameWaitMs }, 'no frame answered yet; telling systemd we are up anyway (see /readyz)');
      this.sendReady();
    }, this.firstFrameWaitMs);
    this.firstFrameTimer.unref();
  }

  reloading(): void {
    this.notifier.reloading();
  }

  reloaded(result: 'applied' | 'refused'): void {
    this.metrics.reloads.inc({ result });
    this.notifier.ready(this.statusLine());
  }

  stopping(): void {
    this.phase = 'stopping';
    this.summariseMissedDeadlines();
    this.notifier.stopping();
    this.close();
  }

  close(): void {
    if (this.tick) clearInterval(this.tick);
    if (this.firstFrameTimer) clearTimeout(this.firstFrameTimer);
    this.tick = undefined;
    this.firstFrameTimer = undefined;
  }

  /** A state an operator changed (pause, resume): STATUS= and the ready gauge now, not at the next tick. */
  notifyStatus(): void {
    this.metrics.ready.set(this.health.readiness().ready ? 1 : 0);
    if (this.readySent) this.notifier.status(this.statusLine());
  }

  /** One line for STATUS= (systemctl status shows it) and the logs. */
  statusLine(): string {
    const c = this.counts;
    const cams = this.health.readiness().checks.cameras.cameras as Record<string, { state: string }>;
    const up = Object.values(cams).filter((s) => s.state === 'up').length;
    const broker = this.probes.brokerConnected ? (this.probes.brokerConnected() ? 'broker connected' : 'broker DOWN') : 'broker ?';
    const backlog = this.probes.outboxBacklog?.();
    const paused = this.probes.paused?.();
    const state = paused ? `PAUSED by an operator (${paused.via})` : this.heartbeat.stalled() ? `STALLED (no frame answered for ${Math.round(this.heartbeat.waitingMs() / 1000)} s)` : this.phase;
    return `${state}; ${this.frames} frames: ${c.PASS} PASS, ${c.FAIL} FAIL, ${c.TIMEOUT} TIMEOUT, ${c.ERROR} ERROR; cameras ${up}/${Object.keys(cams).length} up; ${broker}${backlog !== undefined ? `, outbox ${backlog}` : ''}`;
  }

  private answered(): void {
    this.heartbeat.answered();
    if (!this.readySent && this.phase === 'running') this.sendReady();
  }

  private sendReady(): void {
    if (this.readySent) return;
    this.readySent = true;
    if (this.firstFrameTimer) clearTimeout(this.firstFrameTimer);
    this.notifier.ready(this.statusLine());
    this.log.info({ event: 'ready' }, 'ready');
  }

  /**
   * Missed deadlines as one line per tick (the watchdog interval, or 5 s) with the count per camera,
   * never one per frame: a line at 30 fps that misses every deadline would otherwise be 30 lines a
   * second. The per-frame detail is in the verdict log and inspectd_deadline_misses_total.
   */
  private summariseMissedDeadlines(): void {
    if (this.missed.size === 0) return;
    const cameras = Object.fromEntries(this.missed);
    const total = [...this.missed.values()].reduce((a, b) => a + b, 0);
    this.log.warn({ event: 'deadline.missed', total, cameras, intervalMs: Date.now() - this.missedSince }, 'frames missed their deadline (TIMEOUT)');
    this.missed = new Map();
    this.missedSince = Date.now();
  }

  /** The watchdog: WATCHDOG=1 only while the pipeline answers frames, so systemd restarts a hung one. */
  private onTick(): void {
    const stalled = this.heartbeat.stalled();
    if (stalled !== this.wasStalled) {
      this.wasStalled = stalled;
      if (stalled) this.log.error({ event: 'pipeline.stalled', waitingMs: this.heartbeat.waitingMs() }, 'no frame answered: pipeline stalled, watchdog not fed');
      else this.log.info({ event: 'pipeline.resumed' }, 'frames answered again');
    }
    this.metrics.ready.set(this.health.readiness().ready ? 1 : 0);
    this.summariseMissedDeadlines();
    if (this.phase === 'stopping') return;
    if (!stalled) this.notifier.watchdog();
    if (this.readySent) this.notifier.status(this.statusLine());
  }
}
