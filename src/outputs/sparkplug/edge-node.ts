import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { VerdictMessage } from '../../verdict/types.js';
import { IdleSignal } from '../../util/idle-signal.js';
import { ForgetfulStore, forgetInFlightOnClose } from '../mqtt/forgetful-store.js';
import type { Outbox, VerdictOutput } from '../output.js';
import type { CameraState } from '../../ops/telemetry.js';
import { MetricAliases } from './aliases.js';
import { DEVICE_REBIRTH_METRIC, deviceBirthMetrics, deviceMetrics } from './metrics.js';
import { NodeValuesReport } from './node-values.js';
import { DataType, encodePayload, sparkplugTopic, type Metric, type MessageType } from './payload.js';
import { readHostCommands, REBIRTH_METRIC, type HostCommand } from './commands.js';
import { PrimaryHostWatch, stateTopic } from './primary-host.js';
import { BdSeq } from './bd-seq.js';
import { WriteConfirmations } from './write-confirmations.js';
import type { EdgeNodeOptions } from './options.js';

export const SPARKPLUG_OUTPUT = 'sparkplug';

type Mode = 'offline' | 'awaiting-host' | 'backlog' | 'live';

/** DDATA messages written to the socket and not yet called back; the outbox carries the rest. */
const MAX_WRITING = 200;
/** Verdicts decided while a backlog goes out, kept to follow it; beyond this the log carries them too. */
const HELD_MAX = 1000;
/**
 * The station as a Sparkplug B 3.0 edge node: NBIRTH (with bdSeq, Node Control/Rebirth and the node's
 * counters) and a DBIRTH per camera that is up, a DDATA per verdict, NDATA when the node's counters
 * change, DDEATH when a camera goes down or is removed (DBIRTH when it is back), NDEATH as the will
 * with the same bdSeq (and published before a clean stop), seq 0-255 wrapping, rebirth on NCMD and,
 * per camera, on DCMD. Metric aliases: births give name and alias, data the alias only. With a
 * primary host id, births wait for that host's STATE online, and its STATE offline brings NDEATH and
 * a reconnect. Clean session, as the specification requires.
 *
 * Data goes at QoS 0 and the broker keeps nothing, so delivery is this output's own cursor in the
 * log: a verdict is marked delivered once written to a socket that stayed up CONFIRM_MS after it,
 * or before the clean stop's NDEATH (QoS 1) was acknowledged. After a (re)birth what it owes goes
 * first, in seq order, from the log, with is_historical (so a host does not take it for the live
 * value); verdicts decided meanwhile wait in memory (bounded) and follow it, then verdicts go live
 * as decided. A broker that dies gets the last second again, as history: at least once, like the
 * MQTT output. Until births are sent (no broker, or no primary host online) verdicts wait in the log.
 */
export class SparkplugEdgeNode implements VerdictOutput {
  readonly name = SPARKPLUG_OUTPUT;
  private client: MqttClient | undefined;
  private readonly bdSeq: BdSeq;
  private seq = 0;
  private mode: Mode = 'offline';
  /** The last seq decided when the backlog began: it is caught up once the log has served up to here. */
  private backlogUpTo = 0;
  private lastReadBack = 0;
  private held: VerdictMessage[] = [];
  private lastDecided = 0;
  private lastCommitted = 0;
  private writing = 0;
  /** Written to the socket: delivered once the connection stayed up CONFIRM_MS after. */
  private readonly written: WriteConfirmations;
  private nodeDataTimer: NodeJS.Timeout | undefined;
  private pumping = false;
  private stopped = false;
  private readonly last = new Map<string, VerdictMessage>();
  private readonly nodeValues: NodeValuesReport;
  private readonly drained = new IdleSignal();
  private readonly aliases = new MetricAliases();
  private readonly host = new PrimaryHostWatch();
  /** The devices, one per camera: the config's, then as reloads add and remove them. */
  private readonly devices: string[];
  /** Cameras whose source says down (not merely stopped): no DBIRTH for them until they are up. */
  private readonly down = new Set<string>();
  /** Devices with a DBIRTH on this session (since the last NBIRTH) and no DDEATH after it. */
  private readonly born = new Set<string>();

  constructor(
    private readonly outbox: Outbox,
    private readonly opts: EdgeNodeOptions,
    private readonly log: Logger,
  ) {
    this.bdSeq = new BdSeq(opts.bdSeqFile, log);
    this.written = new WriteConfirmations(outbox, () => this.client?.connected ?? false);
    this.devices = [...opts.cameras];
    this.nodeValues = new NodeValuesReport(opts.cameras, () => outbox.countUnpublished());
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  private topic(type: MessageType, device?: string): string {
    return sparkplugTopic(this.opts.groupId, type, this.opts.edgeNode, device);
  }

  /** Births are out on this connection: data may flow. */
  private get inSession(): boolean {
    return this.mode === 'backlog' || this.mode === 'live';
  }

  /** The will for the next CONNECT: NDEATH with that connection's bdSeq (no seq, as the specification says). */
  private nextWill(): NonNullable<IClientOptions['will']> {
    this.bdSeq.next();
    return { topic: this.topic('NDEATH'), payload: Buffer.from(this.deathPayload()), qos: 1, retain: false };
  }

  private deathPayload(): Uint8Array {
    return encodePayload({ timestamp: Date.now(), metrics: [{ name: 'bdSeq', datatype: DataType.UInt64, value: this.bdSeq.current, timestamp: Date.now() }] });
  }

  start(): void {
    this.connect();
    this.nodeDataTimer = setInterval(() => this.sendNodeData(), this.opts.nodeDataIntervalMs);
    this.nodeDataTimer.unref();
  }

  private connect(): void {
    const client = mqtt.connect(this.opts.url, {
      clientId: this.opts.clientId ?? `inspectd-spb-${this.opts.edgeNode}-${process.pid}`,
      ...this.opts.credentials,
      keepalive: this.opts.keepaliveS,
      reconnectPeriod: this.opts.reconnectMs,
      connectTimeout: 10_000,
      clean: true,
      queueQoSZero: false,
      outgoingStore: new ForgetfulStore(),
      will: this.nextWill(),
    });
    this.client = client;
    // Each reconnect is a new CONNECT packet, which the specification wants with a new bdSeq.
    client.on('reconnect', () => {
      client.options.will = this.nextWill();
    });
    client.on('connect', () => {
      this.log.info({ url: this.opts.url, bdSeq: this.bdSeq.current, backlog: this.outbox.countUnpublished() }, 'sparkplug connected');
      this.writing = 0;
      // Commands first (the specification: subscribed before NBIRTH), then the births.
      client.subscribe([this.topic('NCMD'), this.topic('DCMD', '+')], { qos: 1 });
      if (this.opts.primaryHostId === undefined) {
        this.beginSession(client);
        return;
      }
      // The host's retained STATE arrives right after this subscription; births wait for online.
      this.mode = 'awaiting-host';
      this.host.reset();
      client.subscribe(stateTopic(this.opts.primaryHostId), { qos: 1 });
      this.log.info({ primaryHost: this.opts.primaryHostId }, 'sparkplug waiting for the primary host to be online; verdicts wait in the log');
    });
    client.on('message', (topic, payload) => {
      if (this.opts.primaryHostId !== undefined && topic === stateTopic(this.opts.primaryHostId)) this.hostState(client, payload);
      else if (topic === this.topic('NCMD')) this.command(client, payload, undefined);
      else if (topic.startsWith(`${this.topic('DCMD')}/`)) this.command(client, payload, topic.slice(this.topic('DCMD').length + 1));
    });
    client.on('close', () => {
      // A client ended for a new session (primary host offline) says nothing about the new one.
      if (client !== this.client) return;
      // Not confirmed: owed still; the next session's backlog sends them again.
      this.written.forget();
      if (this.mode !== 'offline') this.log.warn({ url: this.opts.url }, 'sparkplug connection lost; verdicts wait in the log');
      this.mode = 'offline';
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'sparkplug mqtt error'));
    forgetInFlightOnClose(client);
  }

  /** Births, then the backlog from the log, then live. */
  private beginSession(client: MqttClient): void {
    this.birth(client);
    this.mode = 'backlog';
    this.backlogUpTo = this.lastDecided;
    this.held = [];
    this.lastReadBack = 0;
    this.pump();
  }

  /** STATE of the primary host: online begins the session; offline ends it as the specification says (NDEATH, disconnect, connect again). */
  private hostState(client: MqttClient, payload: Buffer): void {
    const state = this.host.accept(payload);
    if (state === 'invalid') this.log.warn({ primaryHost: this.opts.primaryHostId }, 'sparkplug STATE is not {"online":bool,"timestamp":ms}; ignored');
    else if (state === 'online' && this.mode === 'awaiting-host') {
      this.log.info({ primaryHost: this.opts.primaryHostId }, 'sparkplug primary host online: births');
      this.beginSession(client);
    } else if (state === 'offline' && this.inSession) {
      this.log.warn({ primaryHost: this.opts.primaryHostId }, 'sparkplug primary host offline: NDEATH and reconnect; verdicts wait in the log');
      // Nothing written on this session counts as delivered any more unless already confirmed: the
      // host may not have read it; it goes again, as history, to the host's next session.
      this.mode = 'offline';
      this.written.forget();
      client.publish(this.topic('NDEATH'), Buffer.from(this.deathPayload()), { qos: 1, retain: false }, () => {
        client.end(false, {}, () => {
          if (!this.stopped) this.connect();
        });
      });
    }
  }

  /** NBIRTH (seq 0) then a DBIRTH per camera that is up: what a host needs to (re)build its tags. */
  private birth(client: MqttClient): void {
    const now = Date.now();
    this.seq = 0;
    this.born.clear();
    const node: Metric[] = [
      { name: 'bdSeq', datatype: DataType.UInt64, value: this.bdSeq.current, timestamp: now },
      { name: REBIRTH_METRIC, datatype: DataType.Boolean, value: false, timestamp: now },
      { name: 'Properties/station', datatype: DataType.String, value: this.opts.station, timestamp: now },
      { name: 'Properties/version', datatype: DataType.String, value: this.opts.version, timestamp: now },
      ...this.nodeValues.forBirth(now),
    ];
    this.publishNode(client, 'NBIRTH', this.aliases.forBirth(undefined, node));
    for (const cam of this.devices) if (!this.down.has(cam)) this.deviceBirth(client, cam);
  }

  private deviceBirth(client: MqttClient, cam: string): void {
    const metrics = this.aliases.forBirth(cam, deviceBirthMetrics(this.last.get(cam), this.nodeValues.of(cam), Date.now()));
    this.publishNode(client, 'DBIRTH', metrics, cam);
    this.born.add(cam);
  }

  private deviceDeath(client: MqttClient, cam: string): void {
    this.publishNode(client, 'DDEATH', [], cam);
    this.born.delete(cam);
  }

  /** A message with the next seq (QoS 0, never retained: Sparkplug's rule for everything but STATE). */
  private publishNode(client: MqttClient, type: MessageType, metrics: Metric[], device?: string): void {
    client.publish(this.topic(type, device), Buffer.from(encodePayload({ timestamp: Date.now(), seq: this.nextSeq(), metrics })), { qos: 0, retain: false });
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) % 256;
    return s;
  }

  /** NCMD rebirth → births again (same bdSeq: the connection is the same); DCMD rebirth → that camera's DBIRTH again; anything else is logged and ignored. */
  private command(client: MqttClient, payload: Buffer, device: string | undefined): void {
    let commands: HostCommand[];
    try {
      commands = readHostCommands(payload, device, this.aliases);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, device }, 'sparkplug command is not a Sparkplug B payload; ignored');
      return;
    }
    for (const c of commands) {
      if (c.kind === 'rebirth') {
        this.log.info('sparkplug rebirth requested');
        if (this.inSession) this.birth(client);
      } else if (c.kind === 'device-rebirth' && this.devices.includes(c.device) && !this.down.has(c.device)) {
        this.log.info({ device }, 'sparkplug device rebirth requested');
        if (this.inSession) this.deviceBirth(client, c.device);
      } else {
        this.log.warn({ metric: c.kind === 'unsupported' ? c.metric : DEVICE_REBIRTH_METRIC, device }, 'sparkplug command not supported (or for a device that is down or unknown); ignored');
      }
    }
  }

  /** Camera state from the source (through the daemon's telemetry): down → DDEATH, up → DBIRTH. */
  setCameraState(camera: string, state: CameraState, reason?: string): void {
    // A stopped camera is the daemon stopping (NDEATH says every device is gone) or a reload that
    // removes it (forgetCamera follows) or restarts it (up follows); its last frames' verdicts still go.
    if (state === 'down' && reason === 'stopped') return;
    const client = this.client;
    if (state === 'down') {
      this.down.add(camera);
      if (client?.connected && this.inSession && this.born.has(camera)) this.deviceDeath(client, camera);
    } else {
      this.down.delete(camera);
      if (client?.connected && this.inSession && !this.born.has(camera) && this.devices.includes(camera)) this.deviceBirth(client, camera);
    }
  }

  /** A camera a reload added: a device from now on, down until its source says up. */
  declareCamera(camera: string): void {
    if (!this.devices.includes(camera)) this.devices.push(camera);
    this.down.add(camera);
  }

  /** A camera a reload removed: DDEATH, and no births for it any more. */
  forgetCamera(camera: string): void {
    const i = this.devices.indexOf(camera);
    if (i >= 0) this.devices.splice(i, 1);
    this.down.delete(camera);
    if (this.client?.connected && this.inSession && this.born.has(camera)) this.deviceDeath(this.client, camera);
  }

  decided(msg: VerdictMessage): void {
    this.lastDecided = msg.seq;
    // No session: the log carries it, in its turn.
    if (!this.client?.connected) return;
    if (this.mode === 'live') this.send(this.client, msg, false);
    else if (this.mode === 'backlog') {
      if (this.held.length < HELD_MAX) this.held.push(msg);
      else {
        // Past the bound: all of these are owed from the log too.
        this.backlogUpTo = this.lastDecided;
        this.held = [];
      }
    }
  }

  private send(client: MqttClient, msg: VerdictMessage, historical: boolean): void {
    const counts = this.nodeValues.count(msg);
    if (!historical || (this.last.get(msg.camera)?.seq ?? 0) < msg.seq) this.last.set(msg.camera, msg);
    // A verdict of a device that is not born (its camera down — a trigger's TIMEOUT — or removed, or a
    // backlog verdict of a camera gone since) still goes: inside a DBIRTH ... DDEATH of its own, so a
    // host never sees DDATA of a dead device and the camera stays dead.
    const unborn = !this.born.has(msg.camera);
    if (unborn) this.deviceBirth(client, msg.camera);
    const metrics = this.aliases.forData(msg.camera, deviceMetrics(msg, counts, msg.decidedAt, historical));
    const bytes = encodePayload({ timestamp: Date.now(), seq: this.nextSeq(), metrics });
    this.writing++;
    client.publish(this.topic('DDATA', msg.camera), Buffer.from(bytes), { qos: 0, retain: false }, (err) => {
      this.writing--;
      // Not written (the connection went), or this session ended (host offline): still owed, sent from the log later.
      if (err || client !== this.client || !this.inSession) return;
      this.written.wrote(msg.seq);
      if (this.mode === 'backlog') this.pump();
    });
    if (unborn && (this.down.has(msg.camera) || !this.devices.includes(msg.camera))) this.deviceDeath(client, msg.camera);
  }

  /** NDATA with the node's values that changed since the last birth or NDATA (report by exception). */
  private sendNodeData(): void {
    const client = this.client;
    if (!client?.connected || !this.inSession) return;
    const changed = this.nodeValues.changed(Date.now());
    if (changed.length > 0) this.publishNode(client, 'NDATA', this.aliases.forData(undefined, changed));
  }

  committed(verdicts: readonly number[], _delivered: readonly number[]): void {
    for (const seq of verdicts) if (seq > this.lastCommitted) this.lastCommitted = seq;
    if (this.mode === 'backlog') this.pump();
    if (this.outbox.countUnpublished() === 0) this.drained.notify();
  }

  storageHealthy(ok: boolean): void {
    this.nodeValues.storageOk = ok;
    if (!ok) this.pump();
  }

  /** The backlog, from the log in seq order, as historical data; then live. */
  private pump(): void {
    const client = this.client;
    if (this.mode !== 'backlog' || !client?.connected || this.pumping) return;
    this.pumping = true;
    try {
      let exhausted = false;
      while (this.writing < MAX_WRITING) {
        const batch = this.outbox.unpublished(this.lastReadBack, MAX_WRITING - this.writing);
        if (batch.length === 0) {
          exhausted = true;
          break;
        }
        for (const msg of batch) {
          this.lastReadBack = msg.seq;
          this.send(client, msg, true);
        }
      }
      // Caught up once the log has served every verdict decided before the backlog began; or at once
      // when the log cannot be written (what it could not take is in no outbox: live is all there is).
      if ((exhausted && this.lastCommitted >= this.backlogUpTo) || !this.nodeValues.storageOk) {
        this.mode = 'live';
        const held = this.held;
        this.held = [];
        // Those the log has already served (committed meanwhile) went as history: not twice.
        for (const msg of held) if (msg.seq > this.lastReadBack) this.send(client, msg, false);
        this.log.debug({ seq: this.lastReadBack, held: held.length }, 'sparkplug backlog sent; verdicts go live');
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Resolves true once nothing is owed (the last writes confirm within CONFIRM_MS), false at the timeout. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.pump();
    return this.drained.wait(timeoutMs, this.outbox.countUnpublished() === 0);
  }

  /** Clean stop: NDEATH with this session's bdSeq (a clean disconnect sends no will), then disconnect. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const client = this.client;
    if (!client) return;
    this.written.stop();
    if (this.nodeDataTimer) clearInterval(this.nodeDataTimer);
    // Not born (waiting for the primary host): no NDEATH either, a host has nothing to close.
    if (client.connected && this.inSession) {
      const upTo = Date.now();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        client.publish(this.topic('NDEATH'), Buffer.from(this.deathPayload()), { qos: 1, retain: false }, (err) => {
          clearTimeout(t);
          // The broker acknowledges the NDEATH only after reading every DDATA written before it.
          if (!err) this.written.confirm(upTo);
          resolve();
        });
      });
    }
    await client.endAsync(!client.connected);
  }
}
