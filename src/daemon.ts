import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ReloadPlan } from './config/reload.js';
import type { Config } from './config/schema.js';
import { InspectdError } from './errors.js';
import type { CameraInspection } from './inspect/camera.js';
import { openStationInspections, rulesForCameras, type StationInspections } from './inspect/station.js';
import { setLogLevel } from './log.js';
import { noTelemetry, type PipelineProbes, type Telemetry } from './ops/telemetry.js';
import { LoopDelay } from './ops/loop-delay.js';
import { EmbeddedBroker } from './outputs/mqtt/embedded-broker.js';
import { brokerCredentials, type BrokerCredentials } from './outputs/mqtt/credentials.js';
import { VerdictPublisher } from './outputs/mqtt/publisher.js';
import { Outputs } from './outputs/output.js';
import { VerdictRecorder, type CloseResult } from './record/recorder.js';
import { MQTT_OUTPUT } from './record/store.js';
import { SPARKPLUG_OUTPUT, sparkplugCredentials, sparkplugEnabled, sparkplugFromConfig } from './outputs/sparkplug/from-config.js';
import { Scheduler, type SchedulerStats } from './schedule/scheduler.js';
import type { StageTimes } from './schedule/stage-times.js';
import { createSource } from './source/create.js';
import type { Frame, FrameSource, SourceEvents } from './source/frame.js';
import { TriggerDesk } from './source/trigger.js';
import { opencv } from './preprocess/opencv.js';
import type { ModelInfo } from './verdict/types.js';
import { openRejectArchive, type RejectArchive } from './archive/reject-archive.js';
import { createVerdictSink } from './verdict/sink.js';
import { packageVersion } from './paths.js';

/** What a clean stop could not write to the verdict log. */
export type StopResult = CloseResult;

export interface DaemonOptions {
  config: Config;
  log: Logger;
  /** Resolves the model path in config against this folder (the working directory by default). */
  baseDir?: string;
  /** Metrics, health and the systemd watchdog hear about frames and verdicts through this (src/ops/). */
  telemetry?: Telemetry;
  /** Every folder replay with `exitWhenDone` has handed over its last image (the caller stops the daemon). */
  onReplaysDone?: () => void;
}

/** What the daemon did, summed over its schedulers, with the timings the bench reads from the stop log. */
export interface DaemonStats extends SchedulerStats {
  stages: ReturnType<StageTimes['summary']>[];
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  rssStartMb: number;
  rssEndMb: number;
}

/**
 * The daemon: one place that starts the pipeline in order (verdict log → models → broker → outputs →
 * schedulers → cameras) and stops it in reverse, so a reader sees the whole life of the process here.
 */
export class Daemon {
  private recorder: VerdictRecorder | undefined;
  private inspections: StationInspections | undefined;
  private broker: EmbeddedBroker | undefined;
  private publisher: VerdictPublisher | undefined;
  private outputs: Outputs | undefined;
  /** One scheduler per model: the cameras that share a model share its backend pool. */
  private readonly schedulers = new Map<string, Scheduler>();
  private sources: FrameSource[] = [];
  private triggerDesk: TriggerDesk | undefined;
  private archive: RejectArchive | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<StopResult> | undefined;
  private stopRequested = false;
  private readonly replaysDone = new Set<string>();
  private readonly loopDelay = new LoopDelay();
  private readonly rssStart = process.memoryUsage().rss;
  models: ModelInfo[] = [];
  brokerUrl: string | undefined;

  private readonly telemetry: Telemetry;

  /** opts.config is replaced by a live reload (applyLive); everything else in opts is fixed. */
  constructor(private opts: DaemonOptions) {
    this.telemetry = opts.telemetry ?? noTelemetry;
  }

  get stats(): DaemonStats {
    const total: SchedulerStats = { submitted: 0, decided: 0, timeouts: 0, shed: 0, errors: 0, late: 0 };
    for (const s of this.schedulers.values()) {
      for (const k of Object.keys(total) as (keyof SchedulerStats)[]) total[k] += s.stats[k];
    }
    return {
      ...total,
      stages: [...this.schedulers.values()].map((s) => s.times.summary()),
      eventLoopDelayP99Ms: this.loopDelay.p99Ms(),
      eventLoopDelayMaxMs: this.loopDelay.maxMs(),
      rssStartMb: round(this.rssStart / 2 ** 20),
      rssEndMb: round(process.memoryUsage().rss / 2 ** 20),
    };
  }

  /** Start order: verdict log → models → broker → outputs → schedulers → cameras. */
  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  /** A stop asked for while starting: the start ends at its next step, and the stop then undoes what it made. */
  private checkNotStopping(): void {
    if (this.stopRequested) throw new InspectdError('INSPECTD_STOPPING', 'stopped while starting');
  }

  private async doStart(): Promise<void> {
    // Secrets and certificates first: a file that cannot be read is a config error, before anything loads.
    const credentials = brokerCredentials(this.opts.config.mqtt, this.opts.baseDir ?? process.cwd());
    const spbCredentials = sparkplugCredentials(this.opts.config, this.opts.baseDir ?? process.cwd());
    if (!credentials.rejectUnauthorized) this.opts.log.warn('mqtt.tls.rejectUnauthorized is false: the broker certificate is not checked');
    const recorder = await this.openVerdictLog();
    this.archive = openRejectArchive(this.opts.config, this.opts.log.child({ component: 'archive' }));
    this.checkNotStopping();
    const inspections = await this.loadModels();
    this.checkNotStopping();
    const brokerUrl = await this.startBroker();
    this.checkNotStopping();
    await this.startOutputs(recorder, brokerUrl, inspections, credentials, spbCredentials);
    this.checkNotStopping();
    this.startSchedulers(recorder, inspections);
    await this.startCameras(inspections);
    // Measured from here: model loading and broker start are not the line's event-loop delay.
    this.loopDelay.enable();
  }

  private async openVerdictLog(): Promise<VerdictRecorder> {
    const { config: cfg } = this.opts;
    const recordLog = this.opts.log.child({ component: 'record' });
    const recorder = await VerdictRecorder.open(
      {
        path: cfg.storage.path,
        synchronous: cfg.storage.synchronous,
        station: cfg.station,
        // Each durable output keeps its own cursor in the log; retention waits for all of them.
        outputs: [MQTT_OUTPUT, ...(sparkplugEnabled(cfg) ? [SPARKPLUG_OUTPUT] : [])],
        // Retention runs on the writer thread, in small steps (src/record/retention.ts).
        retentionDays: cfg.storage.retentionDays,
        maxSizeMb: cfg.storage.maxSizeMb,
        maxPendingVerdicts: cfg.storage.maxPendingVerdicts,
      },
      {
        // A commit may make a backlog sendable and may complete a drain.
        committed: (verdicts, delivered) => this.outputs?.committed(verdicts, delivered),
        // Storage faults never stop the line (the writer keeps and retries); reported on each change:
        // in the log, on the retained `storage` topic, and to the outputs, which stop waiting for
        // commits that cannot come and deliver from memory.
        storage: (s) => {
          if (s.ok) recordLog.info({ storage: s }, 'verdict log writable');
          else recordLog.error({ storage: s }, 'verdict log cannot be written; verdicts are kept and retried');
          this.outputs?.storageHealthy(s.ok);
          this.publisher?.retain('storage', s);
          // Retried writes are degraded (nothing lost yet); verdicts left out of the log are failed.
          this.telemetry.setStorageState(s.ok ? 'ok' : s.unloggedVerdicts > 0 ? 'failed' : 'degraded', s.message ?? undefined);
        },
      },
    );
    this.recorder = recorder;
    return recorder;
  }

  /** Each model once (its workers proven on a grey frame and its self-test images), then each camera's rules. */
  private async loadModels(): Promise<StationInspections> {
    const { config: cfg, log } = this.opts;
    this.inspections = await openStationInspections(cfg, this.opts.baseDir ?? process.cwd(), log.child({ component: 'model' }));
    this.models = this.inspections.models.map((m) => m.info);
    for (const m of this.models) this.telemetry.setModel(m);
    return this.inspections;
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
    return this.brokerUrl!;
  }

  private async startOutputs(
    recorder: VerdictRecorder,
    url: string,
    inspections: StationInspections,
    credentials: BrokerCredentials,
    spbCredentials: BrokerCredentials | undefined,
  ): Promise<void> {
    const { config: cfg } = this.opts;
    this.publisher = new VerdictPublisher(
      recorder.outbox(MQTT_OUTPUT),
      {
        url,
        topicPrefix: cfg.mqtt.topicPrefix,
        station: cfg.station,
        clientId: cfg.mqtt.clientId,
        persistentSession: cfg.mqtt.persistentSession,
        credentials,
        keepaliveS: cfg.mqtt.keepaliveS,
        reconnectMs: cfg.mqtt.reconnectMs,
        publishMode: cfg.mqtt.publishMode,
      },
      this.opts.log.child({ component: 'mqtt' }),
    );
    // What a fleet needs to know about this station, retained so a dashboard that connects later sees it.
    this.publisher.retain('birth', {
      station: cfg.station,
      version: packageVersion(),
      models: inspections.models.map((m) => m.info),
      cameras: cfg.cameras.map((c: Config['cameras'][number]) => ({ name: c.name, model: inspections.cameras.get(c.name)!.modelInfo.name, deadlineMs: c.deadlineMs ?? cfg.deadlineMs })),
      publishMode: cfg.mqtt.publishMode,
    });
    this.publisher.retain('storage', recorder.storageState());
    const sparkplug = sparkplugFromConfig(cfg, recorder.outbox(SPARKPLUG_OUTPUT), { url, credentials }, spbCredentials, this.opts.log.child({ component: 'sparkplug' }));
    this.outputs = new Outputs([this.publisher, ...(sparkplug ? [sparkplug] : [])]);
    this.outputs.start();
    // The first frames should not all wait in the outbox for a connect that is a moment away; a
    // broker that is down must not keep the line from starting, though (verdicts wait in the log).
    if (!(await this.publisher.firstConnect(5000))) {
      this.opts.log.warn({ url }, 'mqtt broker not reachable at start; inspecting anyway, verdicts wait in the outbox');
    }
  }

  private startSchedulers(recorder: VerdictRecorder, inspections: StationInspections): void {
    const sink = createVerdictSink({
      station: this.opts.config.station,
      recorder,
      outputs: () => this.outputs,
      archive: this.archive,
      telemetry: this.telemetry,
      log: this.opts.log.child({ component: 'record' }),
    });
    for (const model of inspections.models) {
      this.schedulers.set(
        model.loaded.path + '#' + model.info.precision,
        new Scheduler(model.backends, sink, { maxQueue: this.opts.config.inference.maxQueue }, this.opts.log.child({ component: 'scheduler', model: model.info.name })),
      );
    }
  }

  private schedulerFor(inspection: CameraInspection): Scheduler {
    return this.schedulers.get(inspection.model.loaded.path + '#' + inspection.model.info.precision)!;
  }

  private async startCameras(inspections: StationInspections): Promise<void> {
    const { config: cfg, log } = this.opts;
    const sources = new Map(cfg.cameras.map((cam) => [cam.name, createSource(cam, log.child({ component: 'camera', camera: cam.name }))]));
    const triggers = this.openTriggerDesk(inspections, sources);
    for (const cam of cfg.cameras) {
      const camLog = log.child({ component: 'camera', camera: cam.name });
      const inspection = inspections.cameras.get(cam.name)!;
      const scheduler = this.schedulerFor(inspection);
      const source = sources.get(cam.name)!;
      this.checkNotStopping();
      this.sources.push(source);
      const triggered = triggers?.isTriggered(cam.name) ?? false;
      await source.start(
        (frame: Frame) => {
          this.telemetry.frameIn(frame.camera);
          // Read per frame, not captured at start: a live reload may change the deadline.
          const deadlineMs = this.deadlineOf(cam.name);
          if (!triggered) return scheduler.submit(frame, deadlineMs, inspection);
          // Triggered: a frame is a part only when the PLC asked for one.
          const part = triggers!.tag(frame);
          if (part) scheduler.submit(part, deadlineMs, inspection);
          else frame.image.release();
        },
        (err) => {
          this.telemetry.setCameraState(cam.name, 'down', err.message);
          camLog.warn({ err: err.message }, 'camera problem');
        },
        this.cameraEvents(cam, camLog),
      );
      // Not "started": the camera is up only once it delivers; its state lines say when (camera up/down).
      camLog.info({ source: cam.source.type, deadlineMs: this.deadlineOf(cam.name), model: inspection.modelInfo.name }, 'camera starting');
    }
  }

  /**
   * Cameras in `trigger: mqtt` mode take their parts from the PLC's trigger topic; each trigger gets
   * one verdict (TIMEOUT, frameId -1, when no frame comes by its deadline). Bad triggers are answered
   * on `trigger/error` and change nothing.
   */
  private openTriggerDesk(inspections: StationInspections, sources: ReadonlyMap<string, FrameSource>): TriggerDesk | undefined {
    const { config: cfg, log } = this.opts;
    const triggered = cfg.cameras.filter((c) => c.trigger === 'mqtt');
    if (triggered.length === 0 || !this.publisher) return undefined;
    const deadlines = new Map(cfg.cameras.map((c) => [c.name, c.deadlineMs ?? cfg.deadlineMs]));
    const trigLog = log.child({ component: 'trigger' });
    const desk = new TriggerDesk(new Map(triggered.map((c) => [c.name, { source: sources.get(c.name)!, deadlineMs: deadlines.get(c.name)! }])), {
      noFrame: (camera, partId, arrivedAt) => {
        const inspection = inspections.cameras.get(camera)!;
        const empty = opencv().Mat;
        const frame: Frame = { camera, frameId: -1, capturedAt: arrivedAt, triggeredAt: arrivedAt, partId, image: new empty() };
        trigLog.warn({ camera, partId }, 'no frame for a trigger by its deadline: TIMEOUT');
        this.schedulerFor(inspection).timeoutWithoutFrame(frame, deadlines.get(camera)!, inspection);
      },
      rejected: (r) => {
        trigLog.warn({ code: r.code, err: r.message }, 'trigger rejected');
        this.publisher?.say('trigger/error', r);
      },
    });
    this.triggerDesk = desk;
    this.publisher.listen('trigger', (payload) => desk.accept(payload));
    return desk;
  }

  private deadlineOf(camera: string): number {
    const cfg = this.opts.config;
    return cfg.cameras.find((c) => c.name === camera)?.deadlineMs ?? cfg.deadlineMs;
  }

  /** What operations reads on demand (scrapes, health checks, STATUS=); valid once start() has run. */
  probes(): PipelineProbes {
    return {
      queueDepth: () => [...this.schedulers.values()].reduce((n, s) => n + s.pending, 0),
      shed: () => this.stats.shed,
      brokerConnected: () => this.publisher?.connected ?? false,
      outboxBacklog: () => this.recorder?.countUnpublished() ?? 0,
      stageTimes: () => (this.inspections?.models ?? []).map((m) => ({ model: m.info.name, stages: this.schedulers.get(m.loaded.path + '#' + m.info.precision)?.times.summary() ?? {} })),
      archiveBytes: () => this.archive?.sizeBytes ?? 0,
      databasePath: () => resolve(this.opts.config.storage.path),
    };
  }

  /**
   * Live reload (config/reload.ts has checked that `next` differs only in live fields): new verdict
   * rules, deadlines, log level and drain time. Everything is checked first, then swapped
   * synchronously, so each frame is judged wholly by the old config or wholly by the new one.
   */
  applyLive(next: Config, plan: ReloadPlan): void {
    if (!this.inspections) throw new InspectdError('INSPECTD_RELOAD_REFUSED', 'the daemon has not finished starting');
    const rules = rulesForCameras(next, this.opts.baseDir ?? process.cwd()); // throws ConfigError, having changed nothing
    for (const [camera, r] of rules) this.inspections.cameras.get(camera)!.rules = r;
    if (plan.live.includes('log.level')) setLogLevel(this.opts.log, next.log.level);
    this.opts = { ...this.opts, config: next };
  }

  /**
   * Camera state and replay end (issue 6). The source logs each state change once; here it is
   * published retained on {prefix}/{station}/camera/{name}/status, and a replay's end is logged and,
   * with exitWhenDone, ends the run once every such replay is done.
   */
  private cameraEvents(cam: Config['cameras'][number], camLog: Logger): SourceEvents {
    const waitingFor = this.opts.config.cameras.filter((c) => c.source.type === 'folder' && c.source.exitWhenDone).map((c) => c.name);
    return {
      state: (s) => {
        this.publisher?.retain(`camera/${cam.name}/status`, { camera: cam.name, state: s.state, reason: s.reason, since: Date.now() });
        this.telemetry.setCameraState(cam.name, s.state, s.reason ?? undefined);
      },
      finished: ({ frames }) => {
        camLog.info({ frames }, 'replay finished');
        this.replaysDone.add(cam.name);
        if (waitingFor.includes(cam.name) && waitingFor.every((n) => this.replaysDone.has(n))) this.opts.onReplaysDone?.();
      },
    };
  }

  /**
   * Clean stop: no new frames, in-flight frames finish, every verdict written and published.
   * Resolves with what the verdict log could not write (the CLI exits non-zero when unwritten > 0).
   */
  stop(): Promise<StopResult> {
    this.stopRequested = true;
    this.stopping ??= (async () => {
      await this.starting?.catch(() => {});
      return this.doStop();
    })();
    return this.stopping;
  }

  private async doStop(): Promise<StopResult> {
    const { config: cfg, log } = this.opts;
    await Promise.all(this.sources.map((s) => s.stop().catch((err: Error) => log.warn({ err: err.message }, 'camera stop failed'))));
    // Triggers still waiting will get no frame now: each gets its TIMEOUT, not silence.
    this.triggerDesk?.flush();
    for (const scheduler of this.schedulers.values()) {
      if (!(await scheduler.settled(cfg.shutdown.drainMs))) {
        log.warn({ pending: scheduler.pending }, 'stopping with inferences still running');
      }
    }
    // Verdicts decided last may still be on their way to disk; the outbox is complete once they land.
    await this.recorder?.sync();
    if (this.outputs) {
      const drained = await this.outputs.drain(cfg.shutdown.drainMs);
      if (!drained && this.recorder) {
        log.warn({ unpublished: this.recorder.countUnpublished() }, 'broker did not acknowledge every verdict; they stay in the outbox and are sent at next start');
      }
      await this.outputs.stop();
    }
    await this.archive?.flush(cfg.shutdown.drainMs);
    await this.inspections?.close();
    const written = (await this.recorder?.close()) ?? { unwritten: 0, unwrittenMarks: 0 };
    if (written.unwritten > 0) log.error(written, 'stopped with verdicts that could not be written to the log');
    await this.broker?.stop();
    this.loopDelay.disable();
    log.info({ stats: this.stats }, 'stopped');
    return written;
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

