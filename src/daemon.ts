import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { createDecoder } from './decode/index.js';
import { ConfigError, InspectdError, type ConfigIssue } from './errors.js';
import type { InferenceBackend } from './infer/backend.js';
import { checkModelIo, selfTest, wrapModel } from './infer/model.js';
import { OnnxRuntimeBackend } from './infer/onnxruntime/backend.js';
import { loadModelSpec, modelFile, type LoadedModelSpec } from './model/spec.js';
import { EmbeddedBroker } from './publish/embedded-broker.js';
import { VerdictPublisher } from './publish/mqtt-publisher.js';
import { VerdictRecorder } from './record/recorder.js';
import { Scheduler, type VerdictSink } from './schedule/scheduler.js';
import { createStages } from './schedule/stages.js';
import { createSource } from './source/create.js';
import type { Frame, FrameSource } from './source/frame.js';
import { rulesFromSpec, unknownPerClassLabels, type VerdictRules } from './verdict/rules.js';
import type { ModelInfo } from './verdict/types.js';

/** Lets tests (and, later, other runtimes) supply the inference backends. */
export type BackendFactory = (loaded: LoadedModelSpec, cfg: Config) => Promise<InferenceBackend[]>;

export interface DaemonOptions {
  config: Config;
  log: Logger;
  /** Resolves the model path in config against this folder (the working directory by default). */
  baseDir?: string;
  createBackends?: BackendFactory;
}

/** ONNX Runtime now; `auto` will prefer TensorRT once its backend can load on the machine. */
export const defaultBackends: BackendFactory = async (loaded, cfg) => {
  const backend = cfg.inference.backend;
  if (backend === 'tensorrt') {
    throw new InspectdError('INSPECTD_BACKEND_UNAVAILABLE', 'inference.backend: tensorrt is not available in this build; use onnxruntime or auto');
  }
  const precision = cfg.model.precision === 'auto' ? undefined : cfg.model.precision;
  const { file, precision: p } = modelFile(loaded, precision);
  const backends: InferenceBackend[] = [];
  try {
    for (let i = 0; i < cfg.inference.workers; i++) {
      backends.push(await OnnxRuntimeBackend.create({ file, precision: p, intraOpThreads: cfg.inference.threads }));
    }
  } catch (err) {
    await Promise.all(backends.map((b) => b.close()));
    throw err;
  }
  return backends;
};

/** model.json's thresholds overridden by the camera's config; a perClass key the model lacks is a config error. */
export function rulesForCameras(cfg: Config, loaded: LoadedModelSpec): Map<string, VerdictRules> {
  const issues: ConfigIssue[] = [];
  const rules = new Map<string, VerdictRules>();
  cfg.cameras.forEach((cam, i) => {
    const r = rulesFromSpec(loaded.spec, {
      threshold: cam.thresholds.default,
      perClass: cam.thresholds.perClass,
      minDefectAreaPx: cam.minDefectAreaPx,
      roi: cam.roi,
      ignore: cam.ignore,
    });
    for (const label of unknownPerClassLabels(r, loaded.spec.labels)) {
      if (label in cam.thresholds.perClass) {
        issues.push({ path: `cameras[${i}].thresholds.perClass.${label}`, message: `model ${loaded.spec.name} has no label "${label}" (labels: ${loaded.spec.labels.join(', ')})` });
      }
    }
    rules.set(cam.name, r);
  });
  if (issues.length > 0) throw new ConfigError(issues, 'config');
  return rules;
}

/**
 * The daemon: one place that starts the pipeline in order (verdict log → model → broker → publisher →
 * scheduler → cameras) and stops it in reverse, so a reader sees the whole life of the process here.
 */
export class Daemon {
  private recorder: VerdictRecorder | undefined;
  private backends: InferenceBackend[] = [];
  private broker: EmbeddedBroker | undefined;
  private publisher: VerdictPublisher | undefined;
  private scheduler: Scheduler | undefined;
  private sources: FrameSource[] = [];
  private stopping: Promise<void> | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  modelInfo: ModelInfo | undefined;
  brokerUrl: string | undefined;

  constructor(private readonly opts: DaemonOptions) {}

  get stats() {
    return this.scheduler?.stats;
  }

  /** Start order: verdict log → model → broker → publisher → scheduler → cameras. */
  async start(): Promise<void> {
    const recorder = await this.openVerdictLog();
    const { loaded, decoder, rules, model } = await this.loadModel();
    const brokerUrl = await this.startBroker();
    this.startPublisher(recorder, brokerUrl);
    const stages = createStages(loaded, decoder, rules);
    this.scheduler = new Scheduler(
      this.backends,
      stages,
      this.verdictSink(recorder, model),
      { maxQueue: this.opts.config.inference.maxQueue },
      this.opts.log.child({ component: 'scheduler' }),
    );
    await this.startCameras(this.scheduler);
  }

  private async openVerdictLog(): Promise<VerdictRecorder> {
    const { config: cfg } = this.opts;
    const recordLog = this.opts.log.child({ component: 'record' });
    const recorder = await VerdictRecorder.open(
      { path: cfg.storage.path, synchronous: cfg.storage.synchronous, station: cfg.station },
      {
        // A commit makes verdicts publishable and may complete a drain.
        committed: () => this.publisher?.notify(),
        failed: (message, lost) => recordLog.error({ err: message, seqs: lost }, 'verdicts could not be written to the log'),
      },
    );
    this.recorder = recorder;
    if (cfg.storage.retentionDays > 0) {
      const prune = () => recorder.prune(Date.now() - cfg.storage.retentionDays * 86_400_000);
      prune();
      // Hourly is plenty for a day-granular setting; unpublished rows are never pruned.
      this.pruneTimer = setInterval(prune, 3_600_000).unref();
    }
    return recorder;
  }

  private async loadModel() {
    const { config: cfg, log } = this.opts;
    const loaded = loadModelSpec(resolve(this.opts.baseDir ?? process.cwd(), cfg.model.path));
    const decoder = createDecoder(loaded.spec);
    // Config mistakes against the model (per-class labels it lacks) fail before any worker loads.
    const rules = rulesForCameras(cfg, loaded);
    this.backends = await (this.opts.createBackends ?? defaultBackends)(loaded, cfg);
    // Each worker proves the model on a grey frame and its self-test images before the line starts:
    // a broken export (scores outside scoreRange) stops the daemon here, not after a shift of nonsense.
    for (const backend of this.backends) {
      checkModelIo(loaded, backend, decoder);
      await selfTest(wrapModel(loaded, backend, decoder));
    }
    const first = this.backends[0]!.info;
    const model: ModelInfo = { name: loaded.spec.name, version: loaded.spec.version, precision: first.precision, backend: first.name };
    this.modelInfo = model;
    log.info({ model, workers: this.backends.length }, 'model loaded');
    return { loaded, decoder, rules, model };
  }

  private async startBroker(): Promise<string> {
    const { mqtt: m } = this.opts.config;
    if (m.url) {
      this.brokerUrl = m.url;
    } else {
      const b = m.embeddedBroker;
      this.broker = new EmbeddedBroker(b.host, b.port, this.opts.log.child({ component: 'broker' }), b.binary);
      await this.broker.start();
      this.brokerUrl = this.broker.url;
    }
    return this.brokerUrl;
  }

  private startPublisher(recorder: VerdictRecorder, url: string): void {
    const { config: cfg } = this.opts;
    this.publisher = new VerdictPublisher(
      recorder,
      {
        url,
        topicPrefix: cfg.mqtt.topicPrefix,
        station: cfg.station,
        clientId: cfg.mqtt.clientId,
        username: cfg.mqtt.username,
        password: cfg.mqtt.password,
        keepaliveS: cfg.mqtt.keepaliveS,
        reconnectMs: cfg.mqtt.reconnectMs,
      },
      this.opts.log.child({ component: 'mqtt' }),
    );
    this.publisher.start();
  }

  /** Where the scheduler's verdicts go: the log (which feeds the publisher). Never throws into the scheduler. */
  private verdictSink(recorder: VerdictRecorder, model: ModelInfo): VerdictSink {
    const station = this.opts.config.station;
    const recordLog = this.opts.log.child({ component: 'record' });
    return {
      decided: (frame, decision, decidedAt, deadlineMs) => {
        try {
          const msg = recorder.record({
            station,
            camera: frame.camera,
            frameId: frame.frameId,
            partId: frame.partId,
            decision,
            capturedAt: frame.capturedAt,
            decidedAt,
            deadlineMs,
            model,
          });
          return msg.seq;
        } catch (err) {
          recordLog.error({ err: (err as Error).message, camera: frame.camera, frameId: frame.frameId }, 'verdict could not be recorded');
          return undefined;
        }
      },
      late: (seq, decision, decidedAt) => {
        try {
          recorder.recordLate(seq, decision, decidedAt);
        } catch (err) {
          recordLog.error({ err: (err as Error).message, seq }, 'late result could not be recorded');
        }
      },
    };
  }

  private async startCameras(scheduler: Scheduler): Promise<void> {
    const { config: cfg, log } = this.opts;
    for (const cam of cfg.cameras) {
      const deadlineMs = cam.deadlineMs ?? cfg.deadlineMs;
      const camLog = log.child({ component: 'camera', camera: cam.name });
      const source = createSource(cam, camLog);
      this.sources.push(source);
      await source.start(
        (frame: Frame) => scheduler.submit(frame, deadlineMs),
        (err) => camLog.warn({ err: err.message }, 'camera problem'),
      );
      camLog.info({ source: cam.source.type, deadlineMs }, 'camera started');
    }
  }

  /** Clean stop: no new frames, in-flight frames finish, every verdict written and published. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const { config: cfg, log } = this.opts;
    await Promise.all(this.sources.map((s) => s.stop().catch((err: Error) => log.warn({ err: err.message }, 'camera stop failed'))));
    if (this.scheduler && !(await this.scheduler.settled(cfg.shutdown.drainMs))) {
      log.warn({ pending: this.scheduler.pending }, 'stopping with inferences still running');
    }
    // Verdicts decided last may still be on their way to disk; the outbox is complete once they land.
    await this.recorder?.sync();
    if (this.publisher) {
      const drained = await this.publisher.drain(cfg.shutdown.drainMs);
      if (!drained && this.recorder) {
        log.warn({ unpublished: this.recorder.countUnpublished() }, 'broker did not acknowledge every verdict; they stay in the outbox and are sent at next start');
      }
      await this.publisher.stop();
    }
    await Promise.all(this.backends.map((b) => b.close()));
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.recorder?.close();
    await this.broker?.stop();
    log.info({ stats: this.scheduler?.stats }, 'stopped');
  }
}
