import { Worker } from 'node:worker_threads';
import pino, { type Logger } from 'pino';
import { configFileHash, type LoadedConfig } from '../../config/running-config.js';
import type { ReloadOutcome } from '../../config/reload.js';
import type { CameraState, StorageState, Telemetry } from '../../ops/telemetry.js';
import type { TriggerRejection } from '../../source/trigger.js';
import { InspectdError } from '../../errors.js';
import { compiledWorker } from '../../util/worker-path.js';
import type { ModelInfo, VerdictMessage } from '../../verdict/types.js';
import type { CameraDescription } from './address-space.js';
import type { VerdictOutput } from '../output.js';
import type { ConfigActivation, FromStation, StationSetup, ToStation } from './protocol.js';

/** Where the server listens, once it does. */
export interface OpcuaListening {
  endpointUrl: string;
  endpoints: string[];
  /** The server thread's scheduling as the kernel had it ('SCHED_IDLE', 'nice 5'; or why opcua.policy could not be set). */
  priority: string;
}

/** The daemon's line pause, as Halt and Reset use it (Daemon.pause / resume): each returns whether it changed anything. */
export interface LinePauseControl {
  pause(via: string): boolean;
  resume(via: string): boolean;
}

/** What the server asks of the daemon around it (none without one: the bench's server alone). */
export interface OpcuaDaemonHooks {
  /** A camera as the daemon runs it now (its config and model after a reload), for the nodes of one a reload adds. */
  describeCamera: (camera: string) => CameraDescription | undefined;
  line: LinePauseControl;
  /** The config file running and the daemon's live reload (ConfigurationManagement); absent: nothing to activate. */
  configuration?: ConfigurationHooks;
}

/** ConfigurationManagement's view of the daemon: what it loaded, and its live reload (SIGHUP's). */
export interface ConfigurationHooks {
  loaded(): LoadedConfig;
  reload(): Promise<ReloadOutcome>;
}

const NO_LINE: LinePauseControl = { pause: () => false, resume: () => false };

/** How long stop() waits for the server to tell its clients it is going (Halted, shutdown) before ending its thread. */
const STOP_TIMEOUT_MS = 5000;

/**
 * The OPC UA output as the daemon sees it (docs/opcua.md): a live output beside MQTT whose server
 * runs on its own thread (worker.ts). Here, on the main thread, a verdict costs one postMessage (a
 * structured clone of the payload); node-opcua's work happens there. The thread starts loading at
 * open() and the daemon does not wait for it: the cameras start meanwhile, and what is posted before
 * the server listens is applied, in order, when it does (`listening` resolves then).
 */
export class OpcuaOutput implements VerdictOutput, Pick<Telemetry, 'setCameraState' | 'setStorageState' | 'declareCamera' | 'forgetCamera' | 'setModels' | 'setPaused'> {
  readonly name = 'opcua';
  /** Resolves when the server listens; rejects when it could not start (the line goes on without it). */
  readonly listening: Promise<OpcuaListening>;
  private state: 'loading' | 'listening' | 'gone' = 'loading';
  private stopped: ((figures?: Omit<Extract<FromStation, { type: 'stopped' }>, 'type'>) => void) | undefined;
  private stopping = false;
  /** The model each camera in the address space shows, to tell the server only of a reload's real changes. */
  private readonly shown = new Map<string, ModelInfo>();
  /** opcua.coalesceMs > 0: verdicts waiting for the next batch (flushed before any other message, so order holds). */
  private batch: VerdictMessage[] = [];
  private batchTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly trigger: (request: { camera: string; partId: string }, arrivedAt: number) => TriggerRejection | undefined,
    private readonly log: Logger,
    private readonly describe: (camera: string) => CameraDescription | undefined,
    private readonly line: LinePauseControl,
    private readonly configuration: ConfigurationHooks | undefined,
    cameras: readonly CameraDescription[],
    private readonly coalesceMs: number,
  ) {
    for (const c of cameras) this.shown.set(c.name, c.model);
    this.listening = new Promise((resolve, reject) => {
      worker.on('message', (m: FromStation) => {
        switch (m.type) {
          case 'log':
            return this.relay(m.line);
          case 'trigger':
            return this.answerTrigger(m.id, { camera: m.camera, partId: m.partId }, m.arrivedAt);
          case 'line': {
            const done = m.action === 'halt' ? this.line.pause('opc ua') : this.line.resume('opc ua');
            return this.post({ type: 'line-answer', id: m.id, done });
          }
          case 'config':
            return void this.answerConfig(m.id, m.activate);
          case 'listening':
            this.state = 'listening';
            return resolve({ endpointUrl: m.endpointUrl, endpoints: m.endpoints, priority: m.priority });
          case 'failed':
            this.state = 'gone';
            return reject(new Error(m.message));
          case 'stopped':
            return this.stopped?.(m);
        }
      });
      worker.on('error', (err) => {
        this.state = 'gone';
        log.error({ code: 'INSPECTD_OPCUA', err: err.message }, 'opc ua server thread failed; inspecting without it');
        reject(err);
      });
      worker.on('exit', () => {
        this.stopped?.();
        // Ended by stop() while it was still loading: not a failure (open.ts logs the difference).
        reject(this.stopping ? new InspectdError('INSPECTD_STOPPING', 'stopped before the OPC UA server listened') : new Error('the OPC UA server thread exited'));
        this.state = 'gone';
      });
    });
    // Whoever opened the output reports a failed start; this keeps it from being an unhandled rejection.
    this.listening.catch(() => {});
  }

  /** Starts the server's thread; returns at once (the server listens later: `listening`). */
  static open(setup: Omit<StationSetup, 'logLevel'>, trigger: OpcuaOutput['trigger'], log: Logger, daemon: Partial<OpcuaDaemonHooks> = {}): OpcuaOutput {
    const worker = new Worker(compiledWorker(import.meta.url, 'worker.js'), { workerData: { ...setup, logLevel: log.level } satisfies StationSetup });
    return new OpcuaOutput(worker, trigger, log, daemon.describeCamera ?? (() => undefined), daemon.line ?? NO_LINE, daemon.configuration, setup.cameras, setup.coalesceMs);
  }

  private post(m: ToStation): void {
    this.flush();
    if (this.state !== 'gone') this.worker.postMessage(m);
  }

  /** The batch so far, as one message (opcua.coalesceMs). */
  private flush(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    if (this.batch.length === 0) return;
    const msgs = this.batch;
    this.batch = [];
    if (this.state !== 'gone') this.worker.postMessage({ type: 'decided-batch', msgs } satisfies ToStation);
  }

  /** A line of the thread's logger, written by the daemon's (its level, message and fields kept). */
  private relay(line: string): void {
    const { level, msg, time: _time, ...fields } = JSON.parse(line) as { level: number; msg?: string; time?: number };
    const label = (pino.levels.labels[level] ?? 'info') as 'info';
    this.log[label](fields, msg);
  }

  private answerTrigger(id: number, request: { camera: string; partId: string }, arrivedAt: number): void {
    const rejection = this.trigger(request, arrivedAt);
    if (rejection) this.log.warn({ code: rejection.code, err: rejection.message, ...request }, 'opc ua trigger rejected');
    this.post({ type: 'trigger-answer', id, rejection });
  }

  /**
   * ConfigurationManagement's questions: what runs (always), and for ActivateConfiguration the live
   * reload, only when the file still has the hash the client asked for (it may have been edited again).
   */
  private async answerConfig(id: number, activate: string | undefined): Promise<void> {
    const c = this.configuration;
    let activation: ConfigActivation | undefined;
    if (activate !== undefined) {
      const file = c?.loaded().file;
      if (!c || !file) activation = { result: 'unsupported', issues: [] };
      else if (configFileHash(file) !== activate) activation = { result: 'changed', issues: [] };
      else {
        const outcome = await c.reload();
        activation = outcome.result === 'applied' ? { result: 'applied', issues: [] } : { result: 'refused', issues: outcome.issues.map((i) => `${i.path}: ${i.message}`) };
      }
    }
    this.post({ type: 'config-answer', id, loaded: c?.loaded(), activation });
  }

  // ---- VerdictOutput ----

  start(): void {
    this.post({ type: 'start' });
  }

  decided(msg: VerdictMessage): void {
    if (this.coalesceMs === 0) return this.post({ type: 'decided', msg });
    this.batch.push(msg);
    this.batchTimer ??= setTimeout(() => this.flush(), this.coalesceMs);
  }

  committed(): void {}

  storageHealthy(): void {}

  /** A live view owes nothing: what a client missed is in the verdict log. */
  async drain(): Promise<boolean> {
    return true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.flush();
    // A server that listens tells its clients (SystemState Halted, then the shutdown); one still loading has none.
    if (this.state === 'listening') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, STOP_TIMEOUT_MS);
        this.stopped = (f) => {
          clearTimeout(timer);
          // How much of a core the server took while it ran: off the frame path's thread, not off the machine's CPU.
          if (f) {
            const cpuPerVerdictMs = f.cpuMs !== undefined && f.verdicts > 0 ? Math.round((f.cpuMs / f.verdicts) * 100) / 100 : undefined;
            this.log.info({ event: 'opcua.stopped', serverThreadBusyPct: f.busyPct, serverThreadCpuMs: f.cpuMs, verdicts: f.verdicts, cpuPerVerdictMs }, 'opc ua server stopped');
          }
          resolve();
        };
        this.post({ type: 'stop' });
      });
    }
    this.state = 'gone';
    await this.worker.terminate();
  }

  // ---- State from the pipeline (through the daemon's telemetry) ----

  setCameraState(camera: string, state: CameraState, reason?: string): void {
    this.post({ type: 'camera-state', camera, state, reason });
  }

  setStorageState(state: StorageState, reason?: string): void {
    this.post({ type: 'storage-state', state, reason });
  }

  /** A pause by any channel shows as Halted, a resume as Operational, whichever channel asked. */
  setPaused(paused: boolean): void {
    this.post({ type: 'paused', paused });
  }

  // ---- Cameras a live reload added, removed or gave another model (their nodes follow, no restart) ----

  declareCamera(camera: string): void {
    const d = this.describe(camera);
    if (!d) return this.log.warn({ camera }, 'opc ua: a camera the reload added is not described; not in the address space');
    this.shown.set(camera, d.model);
    this.post({ type: 'camera-declared', camera: d });
  }

  forgetCamera(camera: string): void {
    this.shown.delete(camera);
    this.post({ type: 'camera-forgotten', camera });
  }

  /** After a reload's model swap: each camera whose model changed shows the new one. */
  setModels(): void {
    for (const [camera, was] of this.shown) {
      const now = this.describe(camera)?.model;
      if (!now || sameModel(now, was)) continue;
      this.shown.set(camera, now);
      this.post({ type: 'camera-model', camera, model: now });
    }
  }
}

function sameModel(a: ModelInfo, b: ModelInfo): boolean {
  return a.name === b.name && a.version === b.version && a.precision === b.precision && a.backend === b.backend;
}
