import {
  DataType,
  OPCUAServer,
  StatusCodes,
  type CallMethodResultOptions,
  type DataValue,
  type ISessionContext,
  type StatusCode,
  type Variant,
} from 'node-opcua';
import type { Logger } from 'pino';
import type { CameraState, StorageState } from '../../ops/telemetry.js';
import type { TriggerRejection } from '../../source/trigger.js';
import type { ModelInfo, VerdictMessage } from '../../verdict/types.js';
import { addCamera, buildStation, removeCamera, type CameraDescription, type CameraNodes, type StationNodes } from './address-space.js';
import { STATION_NODESETS, type LineControl, type SystemState } from './machine-vision.js';
import { ConfigurationManagement, type ConfigQuestion } from './configuration-management.js';
import { JobControl } from './jobs.js';
import { RecipeManagement } from './recipe-management.js';
import { ResultManagement } from './result-management.js';
import { serverSecurity } from './security.js';
import type { StationSetup } from './protocol.js';
import type { OpcuaUsers } from './users.js';

/** The setup the main thread sent (protocol.ts), with what the thread made of it: the users, the Trigger's way back, its logger. */
export interface OpcuaStationOptions extends Omit<StationSetup, 'usersFile' | 'logLevel'> {
  /** From opcua.usersFile; with it, anonymous sessions are refused. */
  users: OpcuaUsers | undefined;
  /** Asks the daemon's trigger desk (the same one the MQTT trigger uses), on the main thread. */
  trigger: (request: { camera: string; partId: string }, arrivedAt: number) => Promise<TriggerRejection | undefined>;
  /** Asks the daemon to pause or resume the line (Halt, Reset), on the main thread. */
  line: LineControl;
  /** Asks the daemon what config runs, and to activate (live-reload) the file (ConfigurationManagement). */
  config: ConfigQuestion;
  log: Logger;
}

/** Where one camera's handshake stands: the result ResultReady refers to, and whether it was acknowledged. */
interface Handshake {
  seq: number;
  acknowledged: boolean;
}

/**
 * The station as an OPC UA server (docs/opcua.md), on its own thread (worker.ts): the main thread's
 * OpcuaOutput posts each verdict and state change, and this sets the values (a few dozen
 * setValueFromSource calls per verdict); node-opcua encodes and sends them to subscribers on its
 * own publish cycle. It keeps no backlog: a client that was away reads the current values, and the
 * verdict log has the rest (`inspectd verdicts --after-seq N`).
 */
export class OpcuaStation {
  private nodes!: StationNodes;
  private readonly handshakes = new Map<string, Handshake>();
  private storage: StorageState;
  private running = false;
  /** The line is paused (by a client's Halt, or by MQTT, HTTP or the page): Halted until resumed. */
  private halted = false;
  private results: ResultManagement | undefined;
  private jobs: JobControl | undefined;
  /** Each camera's model and trigger mode now (recipes, jobs): the start's, then as reloads change them. */
  private readonly cameras = new Map<string, CameraDescription>();

  private constructor(
    private readonly server: OPCUAServer,
    private readonly opts: OpcuaStationOptions,
  ) {
    this.storage = opts.storage;
    for (const c of opts.cameras) this.cameras.set(c.name, c);
  }

  /** Creates the server certificate when there is none (in the PKI folder), builds the nodes and listens. */
  static async open(opts: OpcuaStationOptions): Promise<OpcuaStation> {
    const sec = await serverSecurity(opts.security, opts.log);
    const users = opts.users;
    const server = new OPCUAServer({
      port: opts.port,
      host: opts.host,
      // Endpoint URLs name the address bound: a loopback server must not advertise the host's FQDN.
      hostname: opts.host === '0.0.0.0' || opts.host === '::' ? undefined : opts.host,
      resourcePath: '',
      // The standard nodeset and OPC 40100 Machine Vision: most of the start's 10-14 s (on this thread, not the frame path's).
      nodeset_filename: STATION_NODESETS,
      serverInfo: { applicationUri: opts.applicationUri, productUri: 'urn:inspectd', applicationName: { text: `inspectd ${opts.station}` } },
      buildInfo: { productName: 'inspectd', softwareVersion: opts.version, manufacturerName: 'inspectd' },
      serverCertificateManager: sec.serverCertificateManager,
      userCertificateManager: sec.userCertificateManager,
      certificateFile: sec.certificateFile,
      privateKeyFile: sec.privateKeyFile,
      securityModes: sec.securityModes,
      securityPolicies: sec.securityPolicies,
      allowAnonymous: opts.allowAnonymous,
      // node-opcua's default (100 ms) folds every change within 100 ms into one notification even for
      // a client asking for samplingInterval 0: at 20 fps that loses verdicts. 0: every change is sent.
      serverCapabilities: { minSupportedSampleRate: 0 },
      userManager: users
        ? {
            // scrypt on the thread pool: a login never blocks the frame path.
            isValidUserAsync: (userName: string, password: string, callback: (err: Error | null, ok?: boolean) => void) => {
              void users.check(userName, password).then((ok) => {
                if (!ok) opts.log.warn({ user: userName }, 'opc ua login refused');
                callback(null, ok);
              });
            },
          }
        : undefined,
    });
    await server.initialize();
    const station = new OpcuaStation(server, opts);
    station.build();
    await server.start();
    return station;
  }

  /** Each endpoint as `url policy mode`, for the log line that says the server listens. */
  get endpoints(): string[] {
    return this.server.endpoints.flatMap((e) => e.endpointDescriptions().map((d) => `${d.endpointUrl} ${d.securityPolicyUri?.split('#')[1]} ${d.securityMode}`));
  }

  /** The first endpoint's URL (opc.tcp://host:port). */
  get endpointUrl(): string {
    return this.server.getEndpointUrl();
  }

  private build(): void {
    const addressSpace = this.server.engine.addressSpace!;
    this.nodes = buildStation(addressSpace, this.opts.station, this.opts.version, this.opts.cameras);
    this.nodes.trigger.bindMethod(async (args: Variant[], _context: ISessionContext) => this.onTrigger(String(args[0]?.value ?? ''), String(args[1]?.value ?? '')));
    this.nodes.storageState.set({ dataType: DataType.String, value: this.storage });
    for (const [camera, n] of this.nodes.cameras) this.bindCamera(camera, n);
    const vision = this.nodes.vision;
    this.results = new ResultManagement(vision, this.opts.station, this.opts.verdictLog, this.opts.log);
    new RecipeManagement(vision, vision.optional.recipes, () => new Map([...this.cameras].map(([name, c]) => [name, c.model])));
    new ConfigurationManagement(vision, vision.optional.configurations, this.opts.config, this.opts.log);
    this.jobs = new JobControl(vision, vision.optional.automaticMode, {
      trigger: (request) => this.requestTrigger(request.camera, request.partId),
      line: this.opts.line,
      operational: () => this.running && !this.halted,
      triggered: () => new Map([...this.cameras].filter(([, c]) => c.triggered).map(([name, c]) => [name, c.model])),
      log: this.opts.log,
    });
    this.nodes.vision.control = (action, why) => this.control(action, why);
    this.nodes.vision.triggeredCamera = (name) => this.cameras.get(name)?.triggered ?? false;
  }

  /**
   * Halt pauses the line (frames are not judged, triggers refused: line-pause.ts) and shows Halted;
   * Reset resumes it, Halted → Preoperational → Operational. Either is refused (BadInvalidState) where
   * OPC 40100's state machine has no such transition, and Halt when the daemon cannot pause (starting,
   * stopping, already paused by another channel).
   */
  private async control(action: 'halt' | 'reset', why: { cause: number; description: string }): Promise<StatusCode> {
    if (action === 'halt' ? !this.running || this.halted : !this.halted) return StatusCodes.BadInvalidState;
    // Stopped by the automatic mode's Stop: the line is paused already, Halt only changes what is shown.
    const jobStopped = action === 'halt' && this.jobs?.stopped === true;
    if (jobStopped) this.jobs!.stopped = false;
    // Resume answers false only when the line runs already (resumed by MQTT or HTTP meanwhile): Reset still ends Halted.
    else if (!(await this.opts.line(action)) && action === 'halt') return StatusCodes.BadInvalidState;
    this.halted = action === 'halt';
    if (action === 'halt') this.opts.log.info({ event: 'opcua.halted', ...why }, 'opc ua: Halt called, the line paused');
    else this.opts.log.info({ event: 'opcua.reset', ...why }, 'opc ua: Reset called, the line resumed');
    if (action === 'reset') this.nodes.vision.setState('Preoperational', true);
    this.showState(this.systemState(), true);
    return StatusCodes.Good;
  }

  /** The camera's methods and its acknowledgement by write, bound to this station's handshake. */
  private bindCamera(camera: string, n: CameraNodes): void {
    this.handshakes.set(camera, { seq: 0, acknowledged: false });
    n.handshake.trigger.bindMethod(async (args: Variant[], _context: ISessionContext) => this.onTrigger(camera, String(args[0]?.value ?? '')));
    n.handshake.acknowledge.bindMethod(async (args: Variant[], _context: ISessionContext) => ({
      statusCode: StatusCodes.Good,
      outputArguments: [{ dataType: DataType.Boolean, value: this.acknowledge(camera, Number(args[0]?.value ?? 0)) }],
    }));
    // A PLC that cannot call methods writes ResultAcknowledged := true instead; our own reset to false is not an acknowledgement.
    n.handshake.resultAcknowledged.node.on('value_changed', (dv: DataValue) => {
      if (dv.value.value === true && this.handshakes.get(camera)?.acknowledged === false) this.acknowledge(camera, 0);
    });
  }

  /** The trigger desk's answer (Trigger methods, StartSingleJob); accepted: ResultReady goes false. */
  private async requestTrigger(camera: string, partId: string): Promise<TriggerRejection | undefined> {
    const rejection = await this.opts.trigger({ camera, partId }, Date.now());
    if (!rejection) {
      // The result now on ResultReady is not this part's: the PLC waits for the next one.
      this.nodes.cameras.get(camera)?.handshake.resultReady.set({ dataType: DataType.Boolean, value: false });
    }
    return rejection;
  }

  private async onTrigger(camera: string, partId: string): Promise<CallMethodResultOptions> {
    const rejection = await this.requestTrigger(camera, partId);
    return {
      statusCode: StatusCodes.Good,
      outputArguments: [
        { dataType: DataType.Boolean, value: rejection === undefined },
        { dataType: DataType.String, value: rejection?.code ?? '' },
        { dataType: DataType.String, value: rejection?.message ?? '' },
      ],
    };
  }

  /** The PLC took the result with this seq (0: whatever is current): ResultReady goes false. */
  private acknowledge(camera: string, seq: number): boolean {
    const h = this.handshakes.get(camera);
    const n = this.nodes.cameras.get(camera);
    if (!h || !n || h.seq === 0 || (seq !== 0 && seq !== h.seq)) return false;
    h.acknowledged = true;
    n.handshake.resultReady.set({ dataType: DataType.Boolean, value: false });
    n.handshake.resultAcknowledged.set({ dataType: DataType.Boolean, value: true });
    return true;
  }

  // ---- What the main thread posts (worker.ts) ----

  start(): void {
    this.running = true;
    this.showState(this.systemState());
  }

  decided(msg: VerdictMessage): void {
    // One Date for every value's source timestamp of this verdict (setValueFromSource would make one per value).
    const at = new Date(msg.decidedAt);
    // The station counts every verdict, a removed camera's last ones too.
    this.nodes.counts.add(msg.verdict, at);
    const cam = this.nodes.cameras.get(msg.camera);
    if (!cam) return;
    const json = cam.result.set(msg, at);
    this.nodes.vision.raiseResultReady(cam.object, msg, json);
    cam.counts.add(msg.verdict, at);
    const h = this.handshakes.get(msg.camera)!;
    h.seq = msg.seq;
    h.acknowledged = false;
    // Acknowledged is reset before Ready is raised, so a PLC never sees Ready with the old acknowledgement.
    cam.handshake.resultAcknowledged.set({ dataType: DataType.Boolean, value: false }, at);
    cam.handshake.resultSeq.set({ dataType: DataType.UInt32, value: msg.seq }, at);
    cam.handshake.resultReady.set({ dataType: DataType.Boolean, value: true }, at);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.showState('Halted');
    this.results?.close();
    for (const n of this.nodes.cameras.values()) n.model.setState('Closed');
    // Clients get the Halted state and ServerStatus shutdown before their sessions close.
    await this.server.shutdown(200);
  }

  /**
   * A camera a reload added (its nodes appear, down until its first frame) or restarted (its nodes
   * stay, so subscriptions on them go on; its model and trigger mode are shown anew).
   */
  declareCamera(camera: CameraDescription): void {
    this.cameras.set(camera.name, camera);
    const known = this.nodes.cameras.get(camera.name);
    if (known) {
      known.model.describe(camera.model);
      known.triggered.set({ dataType: DataType.Boolean, value: camera.triggered });
      return;
    }
    this.bindCamera(camera.name, addCamera(this.nodes, this.opts.station, camera));
    this.opts.log.info({ event: 'opcua.camera_added', camera: camera.name }, 'opc ua: camera added to the address space');
  }

  /** A camera a reload removed: its nodes leave the address space. */
  forgetCamera(camera: string): void {
    this.cameras.delete(camera);
    if (!removeCamera(this.nodes, camera)) return;
    this.handshakes.delete(camera);
    this.opts.log.info({ event: 'opcua.camera_removed', camera }, 'opc ua: camera removed from the address space');
  }

  /** A reload swapped this camera's model (between two frames, the camera running on). */
  setCameraModel(camera: string, model: ModelInfo): void {
    const known = this.cameras.get(camera);
    if (known) this.cameras.set(camera, { ...known, model });
    this.nodes.cameras.get(camera)?.model.describe(model);
  }

  setCameraState(camera: string, state: CameraState, reason?: string): void {
    const n = this.nodes.cameras.get(camera);
    if (!n) return;
    n.state.set({ dataType: DataType.String, value: state });
    n.stateReason.set({ dataType: DataType.String, value: state === 'down' ? (reason ?? '') : '' });
  }

  /** The line paused or resumed by any channel (a Halt's own pause arrives here too, after control()). */
  setPaused(paused: boolean): void {
    const jobs = this.jobs;
    // The automatic mode's Stop paused it: Ready under Operational, not Halted.
    if (paused && jobs?.stopped) return;
    // Resumed by another channel while stopped: running again.
    if (!paused && jobs?.stopped) {
      jobs.stopped = false;
      return this.showState(this.systemState());
    }
    if (this.halted === paused) return;
    this.halted = paused;
    if (!paused && this.running) this.nodes.vision.setState('Preoperational');
    this.showState(this.systemState());
  }

  setStorageState(state: StorageState, reason?: string): void {
    this.storage = state;
    this.nodes.storageState.set({ dataType: DataType.String, value: state });
    this.nodes.storageReason.set({ dataType: DataType.String, value: state === 'ok' ? '' : (reason ?? '') });
    this.showState(this.systemState());
  }

  /** SystemState (a string, for a PLC) and the VisionStateMachine (for an OPC 40100 client) say the same. */
  private showState(state: SystemState, byMethod = false): void {
    this.nodes.systemState.set({ dataType: DataType.String, value: state });
    this.nodes.vision.setState(state, byMethod);
    if (state === 'Operational' || state === 'Error') this.jobs?.show(this.jobs.stopped ? 'Ready' : 'ContinuousExecution');
  }

  /** Error while verdicts are being lost from the log (the PLC still gets them, the record does not). */
  private systemState(): SystemState {
    if (!this.running) return 'Preoperational';
    if (this.halted) return 'Halted';
    return this.storage === 'failed' ? 'Error' : 'Operational';
  }
}
