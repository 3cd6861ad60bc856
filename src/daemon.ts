import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { AppliedChanges, ReloadOutcome, ReloadPlan } from './config/reload.js';
import { loadedConfig, type LoadedConfig } from './config/running-config.js';
import { isTriggeredCamera, type Config } from './config/schema.js';
import type { CameraDescription } from './outputs/opcua/address-space.js';
import { InspectdError } from './errors.js';
import type { CameraInspection } from './inspect/camera.js';
import { applyLiveChanges } from './inspect/live-changes.js';
import { openTriggerDesk } from './inspect/trigger-wiring.js';
import { LineCameras } from './inspect/line-cameras.js';
import { LinePause } from './inspect/line-pause.js';
import { CameraEvents } from './inspect/camera-events.js';
import { ModelsInUse } from './inspect/models-in-use.js';
import { openStationInspections, type StationInspections } from './inspect/station.js';
import { noTelemetry, TelemetryTee, type PipelineProbes, type Telemetry } from './ops/telemetry.js';
import { ProcessMeter, type ProcessFigures } from './ops/process-meter.js';
import { STEP_LIMIT_MS, STEP_SLACK_MS, StopSteps } from './ops/stop-steps.js';
import { stationBroker, type EmbeddedBroker } from './outputs/mqtt/embedded-broker.js';
import { brokerCredentials, type BrokerCredentials } from './outputs/mqtt/credentials.js';
import type { VerdictPublisher } from './outputs/mqtt/publisher.js';
import type { Outputs } from './outputs/output.js';
import { durableOutputs, openStationOutputs } from './outputs/station-outputs.js';
import { VerdictRecorder, verdictLogOptions, type CloseResult } from './record/recorder.js';
import { reportStorage } from './record/storage-report.js';
import { sparkplugCredentials } from './outputs/sparkplug/from-config.js';
import { Scheduler, type SchedulerStats, type VerdictSink } from './schedule/scheduler.js';
import type { StageTimes } from './schedule/stage-times.js';
import { createSource } from './source/create.js';
import type { TriggerDesk } from './source/trigger.js';
import type { ModelInfo } from './verdict/types.js';
import { openRejectArchive, type RejectArchive } from './archive/reject-archive.js';
import { createVerdictSink } from './verdict/sink.js';
import type { OperatorPage } from './outputs/operator-page/operator-page.js';
import { stationBirth } from './outputs/station-birth.js';
import { keepOffCpus } from './ops/cpu-affinity.js';

/** What a clean stop could not write to the verdict log, and the stop steps that did not end within their bound. */
export interface StopResult extends CloseResult {
  hung: string[];
}

export interface DaemonOptions {
  config: Config;
  log: Logger;
  /** Resolves the model path in config against this folder (the working directory by default). */
  baseDir?: string;
  /** Metrics, health and the systemd watchdog hear about frames and verdicts through this (src/ops/). */
  telemetry?: Telemetry;
  /** Every folder replay with `exitWhenDone` has handed over its last image (the caller stops the daemon). */
  onReplaysDone?: () => void;
  /** The config file run and the service's live reload, for OPC UA's ConfigurationManagement (run.ts). */
  configFile?: string;
  reload?: () => Promise<ReloadOutcome>;
}

/** What the daemon did, summed over its schedulers, with the timings the bench reads from the stop log. */
export interface DaemonStats extends SchedulerStats, ProcessFigures {
  stages: ReturnType<StageTimes['summary']>[];
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
  /** The open models, each with one scheduler: the cameras that share a model share its backend pool. */
  private readonly modelsInUse: ModelsInUse;
  /** The cameras running now; a reload adds, removes and restarts them, and swaps their inspection. */
  private readonly cameras: LineCameras;
  private sink: VerdictSink | undefined;
  private triggerDesk: TriggerDesk | undefined;
  private archive: RejectArchive | undefined;
  private page: OperatorPage | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<StopResult> | undefined;
  private stopRequested = false;
  /** Paused by an operator (the `pause` command): cameras run, nothing is judged, triggers are refused. */
  private readonly linePause: LinePause;
  private readonly cameraEvents: CameraEvents;
  private readonly meter = new ProcessMeter();
  /** The config file as loaded (at start, then by each reload applied): OPC UA's ConfigurationManagement. */
  private loaded: LoadedConfig;
  models: ModelInfo[] = [];
  brokerUrl: string | undefined;

  private readonly telemetry: TelemetryTee; // operations, and the OPC UA server's state nodes

  /** opts.config is replaced by a live reload (applyLive); everything else in opts is fixed. */
  constructor(private opts: DaemonOptions) {
    this.telemetry = new TelemetryTee(opts.telemetry ?? noTelemetry);
    this.loaded = loadedConfig(opts.configFile);
    this.modelsInUse = new ModelsInUse(
      this.baseDir,
      (model) => new Scheduler(model.backends, this.sink!, { maxQueue: this.opts.config.inference.maxQueue }, this.opts.log.child({ component: 'scheduler', model: model.info.name })),
    );
    this.cameras = new LineCameras({
      log: opts.log,
      telemetry: this.telemetry,
      deadlineOf: (camera) => this.deadlineOf(camera),
      schedulerFor: (model) => this.modelsInUse.schedulerFor(model),
      events: (cam, camLog) => this.cameraEvents.for(cam, camLog),
    });
    this.cameraEvents = new CameraEvents({
      retain: (topic, payload) => this.publisher?.retain(topic, payload),
      telemetry: this.telemetry,
      // Read at each replay's end: a reload may have changed the cameras since the start.
      replaysToWaitFor: () => this.opts.config.cameras.filter((c) => c.source.type === 'folder' && c.source.exitWhenDone).map((c) => c.name),
      onReplaysDone: opts.onReplaysDone,
    });
    this.linePause = new LinePause({
      cameras: this.cameras,
      triggers: () => this.triggerDesk,
      retain: (topic, payload) => this.publisher?.retain(topic, payload),
      changed: (paused) => this.telemetry.setPaused(paused),
      log: opts.log,
    });
  }

  get stats(): DaemonStats {
    return {
      ...this.modelsInUse.totals(),
      stages: this.modelsInUse.running().map(([, s]) => s.times.summary()),
      ...this.meter.figures(),
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
    if (!credentials.rejectUnauthorized) this.opts.log.warn({ event: 'mqtt.tls_unverified' }, 'mqtt.tls.rejectUnauthorized is false: the broker certificate is not checked');
    // Before any worker, the broker or a camera exists: they inherit it, and the inference workers then pin themselves.
    const reserved = this.opts.config.inference.cpus;
    if (reserved) this.opts.log.info({ event: 'daemon.cpus', inferenceCpus: reserved, rest: keepOffCpus(reserved) }, 'threads other than inference kept off inference.cpus');
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
    // Measured from here: model loading and broker start are not the line's event-loop delay or CPU.
    this.meter.start();
  }

  private async openVerdictLog(): Promise<VerdictRecorder> {
    const recordLog = this.opts.log.child({ component: 'record' });
    this.recorder = await VerdictRecorder.open(verdictLogOptions(this.opts.config, durableOutputs(this.opts.config)), {
      // A commit may make a backlog sendable and may complete a drain.
      committed: (verdicts, delivered) => this.outputs?.committed(verdicts, delivered),
      storage: (s) => reportStorage(s, { log: recordLog, outputs: this.outputs, publisher: this.publisher, telemetry: this.telemetry }),
    });
    return this.recorder;
  }

  /** Each model once (its workers proven on a grey frame and its self-test images), then each camera's rules. */
  private async loadModels(): Promise<StationInspections> {
    const { config: cfg, log } = this.opts;
    this.inspections = await openStationInspections(cfg, this.baseDir, log.child({ component: 'model' }));
    for (const [key, model] of this.inspections.byKey) this.modelsInUse.add(key, model);
    this.modelsChanged();
    return this.inspections;
  }

  private get baseDir(): string {
    return this.opts.baseDir ?? process.cwd();
  }

  /** The models in use changed (start, or a reload's swap): metrics, health and the retained birth say so. */
  private modelsChanged(): void {
    this.models = this.modelsInUse.infos();
    this.telemetry.setModels(this.models);
    this.publishBirth();
  }

  /** What a fleet needs to know about this station, retained so a dashboard that connects later sees it. */
  private publishBirth(): void {
    this.publisher?.retain('birth', stationBirth(this.opts.config, this.models, (camera) => this.inspectionOf(camera)?.modelInfo.name));
  }

  /** A camera's inspection: the running one, or (before the cameras start) the one the station opened. */
  private inspectionOf(camera: string): CameraInspection | undefined {
    return this.cameras.inspectionOf(camera) ?? this.inspections?.cameras.get(camera);
  }

  /** A camera as it runs now: its config (a reload's, once adopted) and the model that config gives it. */
  private describeCamera(camera: string): CameraDescription | undefined {
    const cfg = this.opts.config;
    const cam = cfg.cameras.find((c) => c.name === camera);
    const model = cam && this.modelsInUse.modelOf(cfg, cam);
    return cam && model ? { name: camera, triggered: isTriggeredCamera(cam), model: model.info } : undefined;
  }

  private async startBroker(): Promise<string> {
    const { url, embedded } = await stationBroker(this.opts.config.mqtt, this.opts.log.child({ component: 'broker' }));
    this.broker = embedded;
    this.brokerUrl = url;
    return url;
  }

  private async startOutputs(
    recorder: VerdictRecorder,
    url: string,
    inspections: StationInspections,
    credentials: BrokerCredentials,
    spbCredentials: BrokerCredentials | undefined,
  ): Promise<void> {
    const made = await openStationOutputs({
      config: this.opts.config,
      recorder,
      inspections,
      url,
      credentials,
      sparkplugCredentials: spbCredentials,
      desk: () => this.triggerDesk,
      telemetry: this.telemetry,
      daemon: { describeCamera: (camera) => this.describeCamera(camera), line: { pause: (via) => this.pause(via), resume: (via) => this.resume(via) }, configuration: this.opts.reload && { loaded: () => this.loaded, reload: this.opts.reload } },
      log: this.opts.log,
    });
    this.publisher = made.publisher;
    this.page = made.page;
    this.outputs = made.outputs;
    this.publishBirth();
    this.publisher.retain('storage', recorder.storageState());
    this.linePause.announceRunning();
    this.outputs.start();
    // The first frames should not all wait in the outbox for a connect that is a moment away; a
    // broker that is down must not keep the line from starting, though (verdicts wait in the log).
    if (!(await this.publisher.firstConnect(5000))) {
      this.opts.log.warn({ event: 'broker.unreachable_at_start', url }, 'mqtt broker not reachable at start; inspecting anyway, verdicts wait in the outbox');
    }
  }

  private startSchedulers(recorder: VerdictRecorder, inspections: StationInspections): void {
    this.sink = createVerdictSink({
      station: this.opts.config.station,
      recorder,
      outputs: () => this.outputs,
      archive: this.archive,
      telemetry: this.telemetry,
      log: this.opts.log.child({ component: 'record' }),
      frames: () => this.page?.feed,
    });
    for (const model of inspections.models) this.modelsInUse.schedulerFor(model);
  }

  private async startCameras(inspections: StationInspections): Promise<void> {
    const { config: cfg, log } = this.opts;
    const sources = new Map(cfg.cameras.map((cam) => [cam.name, createSource(cam, log.child({ component: 'camera', camera: cam.name }))]));
    this.triggerDesk = this.publisher
      ? openTriggerDesk({ publisher: this.publisher, inspectionOf: (c) => this.inspectionOf(c), schedulerFor: (m) => this.modelsInUse.schedulerFor(m), deadlineOf: (c) => this.deadlineOf(c), log })
      : undefined;
    for (const cam of cfg.cameras) {
      this.checkNotStopping();
      const inspection = inspections.cameras.get(cam.name)!;
      await this.cameras.start(cam, sources.get(cam.name)!, inspection, isTriggeredCamera(cam) ? this.triggerDesk : undefined);
    }
  }

  private deadlineOf(camera: string): number {
    const cfg = this.opts.config;
    return cfg.cameras.find((c) => c.name === camera)?.deadlineMs ?? cfg.deadlineMs;
  }

  /** The operator page's live feed and review, for the HTTP server; undefined when `page` or `http` is off. */
  operatorPage(): OperatorPage | undefined {
    return this.page;
  }

  /** What operations reads on demand (scrapes, health checks, STATUS=); valid once start() has run. */
  probes(): PipelineProbes {
    return {
      queueDepth: () => this.modelsInUse.running().reduce((n, [, s]) => n + s.pending, 0),
      shed: () => this.stats.shed,
      brokerConnected: () => this.publisher?.connected ?? false,
      outboxBacklog: () => this.recorder?.countUnpublished() ?? 0,
      stageTimes: () => this.modelsInUse.running().map(([m, s]) => ({ model: m.info.name, stages: s.times.summary() })),
      archiveBytes: () => this.archive?.sizeBytes ?? 0,
      databasePath: () => resolve(this.opts.config.storage.path),
      paused: () => this.linePause.since,
    };
  }

  /** An operator's pause (src/inspect/line-pause.ts); refused while starting or stopping. Returns whether anything changed. */
  pause(via: string): boolean {
    if (!this.sink || this.stopRequested) return false;
    return this.linePause.pause(via);
  }

  resume(via: string): boolean {
    return this.linePause.resume(via);
  }

  /** Where remote commands arrive and are answered (`{prefix}/{station}/cmd`): the MQTT connection. */
  commandChannel(): VerdictPublisher | undefined {
    return this.publisher;
  }

  /**
   * Live reload (config/reload.ts has checked that `next` differs only in fields a running daemon can
   * apply): inspect/live-changes.ts swaps rules, deadlines and models between two frames and starts
   * and stops cameras; here only what the daemon itself holds changes (its config, the models' news).
   */
  async applyLive(next: Config, plan: ReloadPlan): Promise<AppliedChanges> {
    if (!this.inspections || !this.sink || this.stopRequested) throw new InspectdError('INSPECTD_RELOAD_REFUSED', 'the daemon is starting or stopping');
    const line = {
      cameras: this.cameras,
      modelsInUse: this.modelsInUse,
      telemetry: this.telemetry,
      baseDir: this.baseDir,
      log: this.opts.log,
      triggers: this.triggerDesk,
      retain: (topic: string, payload: unknown) => this.publisher?.retain(topic, payload),
    };
    const applied = await applyLiveChanges(line, next, plan, () => {
      this.opts = { ...this.opts, config: next };
      this.loaded = loadedConfig(this.opts.configFile);
    });
    this.modelsChanged();
    return applied;
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

  /**
   * Stop order: cameras → schedulers settle → log synced → outputs drain and stop → archive → models →
   * log closed → broker. Each step has a bound (StopSteps): one that never settles is logged as
   * `daemon.stop_hung` with its name and the stop goes on, so the process still exits (70, or 74 when
   * verdicts were left unwritten) well inside systemd's TimeoutStopSec.
   */
  private async doStop(): Promise<StopResult> {
    const { config: cfg, log } = this.opts;
    const drainMs = cfg.shutdown.drainMs;
    const steps = new StopSteps(log);
    // A camera process gets 3 s to release its device before it is killed; an OpenCV read 1.5 s.
    // Triggers still waiting will get no frame now: each gets its TIMEOUT, not silence, and new ones
    // are answered "stopping" (before the cameras stop, which would answer them "unknown camera").
    this.triggerDesk?.flush();
    await steps.run('cameras', STEP_LIMIT_MS, () => this.cameras.stopAll());
    await steps.run('schedulers', drainMs + STEP_SLACK_MS, async () => {
      for (const [, scheduler] of this.modelsInUse.running()) {
        if (!(await scheduler.settled(drainMs))) {
          log.warn({ event: 'daemon.drain_incomplete', pending: scheduler.pending }, 'stopping with inferences still running');
        }
      }
    });
    // Verdicts decided last may still be on their way to disk; the outbox is complete once they land.
    await steps.run('verdict log sync', STEP_LIMIT_MS, () => this.recorder?.sync());
    const outputs = this.outputs;
    if (outputs) {
      const drained = await steps.run('outputs drain', drainMs + STEP_SLACK_MS, () => outputs.drain(drainMs));
      if (drained === false && this.recorder) {
        log.warn({ event: 'outbox.undelivered', unpublished: this.recorder.countUnpublished() }, 'broker did not acknowledge every verdict; they stay in the outbox and are sent at next start');
      }
      await steps.run('outputs stop', STEP_LIMIT_MS, () => outputs.stop());
    }
    await steps.run('reject archive', drainMs + STEP_SLACK_MS, () => this.archive?.flush(drainMs));
    await steps.run('models', STEP_LIMIT_MS, () => this.modelsInUse.closeAll());
    // The writer thread commits what it still holds; a slow disk gets longer than the other steps.
    const written = (await steps.run('verdict log close', 2 * STEP_LIMIT_MS, () => this.recorder?.close())) ?? { unwritten: 0, unwrittenMarks: 0 };
    if (written.unwritten > 0) log.error({ event: 'storage.unwritten', ...written }, 'stopped with verdicts that could not be written to the log');
    await steps.run('embedded broker', STEP_LIMIT_MS, () => this.broker?.stop());
    this.meter.stop();
    if (steps.hung.length === 0) log.info({ event: 'daemon.stopped', stats: this.stats }, 'stopped');
    else log.warn({ event: 'daemon.stopped', hung: steps.hung, stats: this.stats }, 'stopped, leaving behind steps that did not end');
    return { ...written, hung: steps.hung };
  }
}
