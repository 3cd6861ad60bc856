import { statSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { VERDICTS, type ModelInfo, type VerdictMessage } from '../verdict/types.js';
import { STORAGE_STATES, type CameraState, type PipelineProbes, type StorageState } from './telemetry.js';

export interface MetricsOptions {
  /** Every deadline in the config (ms): the latency buckets are placed around them. */
  deadlinesMs: number[];
  version: string;
}

/**
 * The Prometheus metrics (`/metrics`), one registry per daemon. Counters move on telemetry calls;
 * gauges that the pipeline already keeps (queue depth, outbox, broker) are read from probes at scrape
 * time, so nothing is computed per frame that nobody reads. Names follow Prometheus conventions
 * (`_total` counters, base units: seconds, bytes) and pass `promtool check metrics`.
 */
export class PipelineMetrics {
  readonly registry = new Registry();
  private probes: PipelineProbes = {};
  private readonly frames: Counter<'camera'>;
  private readonly verdicts: Counter<'camera' | 'verdict'>;
  private readonly deadlineMisses: Counter<'camera'>;
  private readonly late: Counter;
  private readonly latency: Histogram<'camera' | 'verdict'>;
  private readonly cameraUp: Gauge<'camera'>;
  private readonly storage: Gauge<'state'>;
  private readonly model: Gauge<'name' | 'version' | 'precision' | 'backend'>;
  readonly reloads: Counter<'result'>;
  readonly ready: Gauge;

  constructor(opts: MetricsOptions) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // prom-client also exports these handle/request counts as gauges named *_total, which Prometheus'
    // lint rejects; the same numbers remain as nodejs_active_{handles,requests,resources} by type.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    const probes = () => this.probes;

    new Gauge({ name: 'inspectd_build_info', help: 'inspectd version and Node.js runtime (always 1)', labelNames: ['version', 'node'], registers }).set(
      { version: opts.version, node: process.version },
      1,
    );
    this.model = new Gauge({ name: 'inspectd_model_info', help: 'The model answering frames (always 1)', labelNames: ['name', 'version', 'precision', 'backend'], registers });
    this.frames = new Counter({ name: 'inspectd_frames_total', help: 'Frames received from each camera', labelNames: ['camera'], registers });
    this.verdicts = new Counter({ name: 'inspectd_verdicts_total', help: 'Verdicts decided, by camera and verdict (PASS, FAIL, TIMEOUT, ERROR)', labelNames: ['camera', 'verdict'], registers });
    this.deadlineMisses = new Counter({ name: 'inspectd_deadline_misses_total', help: 'Frames given TIMEOUT because no answer came by their deadline', labelNames: ['camera'], registers });
    this.late = new Counter({ name: 'inspectd_late_results_total', help: 'Inference results that came back after their frame was given TIMEOUT (kept as late)', registers });
    this.latency = new Histogram({
      name: 'inspectd_verdict_latency_seconds',
      help: 'From capture to verdict decided; TIMEOUT is decided at the deadline',
      labelNames: ['camera', 'verdict'],
      buckets: latencyBuckets(opts.deadlinesMs),
      registers,
    });
    new Gauge({
      name: 'inspectd_stage_duration_seconds',
      help: "Time a frame spends in each stage (prepare, wait, infer, judge), p50 and p99 over each model's most recent frames",
      labelNames: ['model', 'stage', 'percentile'],
      registers,
      collect() {
        this.reset();
        for (const { model, stages } of probes().stageTimes?.() ?? []) {
          for (const [stage, q] of Object.entries(stages)) {
            if (!q) continue;
            this.set({ model, stage, percentile: '50' }, q.p50 / 1000);
            this.set({ model, stage, percentile: '99' }, q.p99 / 1000);
          }
        }
      },
    });
    let shedSeen = 0;
    new Counter({
      name: 'inspectd_frames_shed_total',
      help: 'Frames not run because the queue was full or they could not make their deadline (each got TIMEOUT)',
      registers,
      collect() {
        // The scheduler counts; this follows its count, which only grows.
        const now = probes().shed?.() ?? shedSeen;
        if (now > shedSeen) this.inc(now - shedSeen);
        shedSeen = now;
      },
    });
    new Gauge({
      name: 'inspectd_queue_depth',
      help: 'Frames accepted and not yet settled (waiting for an inference worker or running)',
      registers,
      collect() {
        this.set(probes().queueDepth?.() ?? 0);
      },
    });
    new Gauge({
      name: 'inspectd_mqtt_connected',
      help: '1 while connected to the MQTT broker',
      registers,
      collect() {
        this.set(probes().brokerConnected?.() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'inspectd_outbox_backlog',
      help: 'Verdicts written but not yet acknowledged by the broker',
      registers,
      collect() {
        this.set(probes().outboxBacklog?.() ?? 0);
      },
    });
    new Gauge({
      name: 'inspectd_database_size_bytes',
      help: 'Verdict log size on disk (database and write-ahead log)',
      registers,
      collect() {
        const path = probes().databasePath?.();
        this.set(path ? fileBytes(path) + fileBytes(`${path}-wal`) : 0);
      },
    });
    new Gauge({
      name: 'inspectd_archive_size_bytes',
      help: 'Reject images kept in the archive (bounded by its byte quota); 0 without an archive',
      registers,
      collect() {
        this.set(probes().archiveBytes?.() ?? 0);
      },
    });
    this.cameraUp = new Gauge({ name: 'inspectd_camera_up', help: '1 while the camera delivers frames, 0 while it is down', labelNames: ['camera'], registers });
    this.storage = new Gauge({ name: 'inspectd_storage_state', help: 'Verdict log state: 1 for the current state (ok, degraded, failed), 0 for the others', labelNames: ['state'], registers });
    this.setStorageState('ok');
    this.reloads = new Counter({ name: 'inspectd_config_reloads_total', help: 'Config reloads, by result (applied, refused)', labelNames: ['result'], registers });
    this.reloads.inc({ result: 'applied' }, 0);
    this.reloads.inc({ result: 'refused' }, 0);
    this.ready = new Gauge({ name: 'inspectd_ready', help: '1 while /readyz reports ready', registers });
  }

  attach(probes: PipelineProbes): void {
    this.probes = probes;
  }

  frameIn(camera: string): void {
    this.frames.inc({ camera });
  }

  observeVerdict(msg: VerdictMessage): void {
    this.verdicts.inc({ camera: msg.camera, verdict: msg.verdict });
    if (msg.verdict === 'TIMEOUT') this.deadlineMisses.inc({ camera: msg.camera });
    this.latency.observe({ camera: msg.camera, verdict: msg.verdict }, msg.latencyMs / 1000);
  }

  observeLate(): void {
    this.late.inc();
  }

  /** Known cameras start at 0 so a camera that never delivers is visible as down, not absent. */
  declareCamera(camera: string): void {
    this.frames.inc({ camera }, 0);
    for (const verdict of VERDICTS) this.verdicts.inc({ camera, verdict }, 0);
    this.deadlineMisses.inc({ camera }, 0);
  }

  setCameraState(camera: string, state: CameraState): void {
    this.cameraUp.set({ camera }, state === 'up' ? 1 : 0);
  }

  setStorageState(state: StorageState): void {
    for (const s of STORAGE_STATES) this.storage.set({ state: s }, s === state ? 1 : 0);
  }

  /** One info series per model answering frames; a swapped-out model's series goes. */
  setModels(models: readonly ModelInfo[]): void {
    this.model.reset();
    for (const m of models) this.model.set({ ...m }, 1);
  }

  /** A camera a reload removed: its up/down gauge goes (its counters stay, as counters must). */
  forgetCamera(camera: string): void {
    this.cameraUp.remove({ camera });
  }

  async exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * Buckets dense around each deadline (where "made it" and "TIMEOUT" are told apart), plus a coarse
 * tail for stalls. Fixed at start: a deadline changed by reload keeps the buckets it started with.
 */
export function latencyBuckets(deadlinesMs: number[]): number[] {
  const fractions = [0.1, 0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2, 4];
  const set = new Set<number>([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  for (const d of deadlinesMs) for (const f of fractions) set.add(Math.round(d * f * 10) / 10_000);
  return [...set].filter((b) => b > 0).sort((a, b) => a - b);
}

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
