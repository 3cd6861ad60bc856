import { readFileSync, writeFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { VerdictMessage } from '../../verdict/types.js';
import { IdleSignal } from '../../util/idle-signal.js';
import type { BrokerCredentials } from '../mqtt/credentials.js';
import { ForgetfulStore, forgetInFlightOnClose } from '../mqtt/forgetful-store.js';
import type { Outbox, VerdictOutput } from '../output.js';
import { deviceMetrics, zeroCounts, type VerdictCounts } from './metrics.js';
import { DataType, decodeMetrics, encodePayload, sparkplugTopic, type Metric, type MessageType } from './payload.js';

export const SPARKPLUG_OUTPUT = 'sparkplug';
export const REBIRTH_METRIC = 'Node Control/Rebirth';

export interface EdgeNodeOptions {
  url: string;
  credentials: BrokerCredentials;
  clientId?: string;
  keepaliveS: number;
  reconnectMs: number;
  groupId: string;
  edgeNode: string;
  /** The devices: one per camera, born at every connect and rebirth. */
  cameras: readonly string[];
  /** Node properties in NBIRTH. */
  station: string;
  version: string;
  /** Where bdSeq is kept across restarts (a small file beside the log), so a host never sees one bdSeq twice in a row. */
  bdSeqFile: string;
}

/** DDATA messages written to the socket and not yet called back; the outbox carries the rest. */
const MAX_WRITING = 200;
/** Verdicts decided while a backlog goes out, kept to follow it; beyond this the log carries them too. */
const HELD_MAX = 1000;
/**
 * QoS 0 has no acknowledgement: a DDATA written just before the broker died (or the link dropped)
 * may never have been read. A write counts as delivered only once the connection has stayed up this
 * long after it; writes younger than this when the connection closes stay owed and go again, as
 * history, after the reconnect (a possible duplicate instead of a loss). Seen in
 * test/outputs/sparkplug.test.ts: a broker killed under load lost the last write without it.
 */
const CONFIRM_MS = 1000;

/**
 * The station as a Sparkplug B 3.0 edge node: NBIRTH (with bdSeq and Node Control/Rebirth) and a
 * DBIRTH per camera at every connect, a DDATA per verdict, NDEATH as the will with the same bdSeq
 * (and published before a clean stop), seq 0-255 wrapping, rebirth on NCMD. Clean session, as the
 * specification requires.
 *
 * Data goes at QoS 0 and the broker keeps nothing, so delivery is this output's own cursor in the
 * log: a verdict is marked delivered once written to a socket that stayed up CONFIRM_MS after it,
 * or before the clean stop's NDEATH (QoS 1) was acknowledged. After a (re)connect what it owes goes
 * first, in seq order, from the log, with is_historical (so a host does not take it for the live
 * value); verdicts decided meanwhile wait in memory (bounded) and follow it, then verdicts go live
 * as decided. A broker that dies gets the last second again, as history: at least once, like the
 * MQTT output.
 */
export class SparkplugEdgeNode implements VerdictOutput {
  readonly name = SPARKPLUG_OUTPUT;
  private client: MqttClient | undefined;
  private bdSeq: number;
  private seq = 0;
  private mode: 'offline' | 'backlog' | 'live' = 'offline';
  /** The last seq decided when the backlog began: it is caught up once the log has served up to here. */
  private backlogUpTo = 0;
  private lastReadBack = 0;
  private held: VerdictMessage[] = [];
  private lastDecided = 0;
  private lastCommitted = 0;
  private storageOk = true;
  private writing = 0;
  /** Written to the socket, in write order, with when: delivered once confirmed (see CONFIRM_MS). */
  private written: { seq: number; at: number }[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private pumping = false;
  private stopped = false;
  private readonly last = new Map<string, VerdictMessage>();
  private readonly counts = new Map<string, VerdictCounts>();
  private readonly drained = new IdleSignal();

  constructor(
    private readonly outbox: Outbox,
    private readonly opts: EdgeNodeOptions,
    private readonly log: Logger,
  ) {
    this.bdSeq = readBdSeq(opts.bdSeqFile);
    for (const cam of opts.cameras) this.counts.set(cam, zeroCounts());
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  private topic(type: MessageType, device?: string): string {
    return sparkplugTopic(this.opts.groupId, type, this.opts.edgeNode, device);
  }

  /** The will for the next CONNECT: NDEATH with that connection's bdSeq (no seq, as the specification says). */
  private nextWill(): NonNullable<IClientOptions['will']> {
    // A new bdSeq for every CONNECT, 0-255 wrapping, kept on disk so a restart does not repeat it.
    this.bdSeq = (this.bdSeq + 1) % 256;
    writeBdSeq(this.opts.bdSeqFile, this.bdSeq, this.log);
    return { topic: this.topic('NDEATH'), payload: Buffer.from(this.deathPayload()), qos: 1, retain: false };
  }

  private deathPayload(): Uint8Array {
    return encodePayload({ timestamp: Date.now(), metrics: [{ name: 'bdSeq', datatype: DataType.UInt64, value: this.bdSeq, timestamp: Date.now() }] });
  }

  start(): void {
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
      this.log.info({ url: this.opts.url, bdSeq: this.bdSeq, backlog: this.outbox.countUnpublished() }, 'sparkplug connected');
      // Commands first (the specification: subscribed before NBIRTH), then the births.
      client.subscribe(this.topic('NCMD'), { qos: 1 });
      this.birth(client);
      this.mode = 'backlog';
      this.backlogUpTo = this.lastDecided;
      this.held = [];
      this.lastReadBack = 0;
      this.writing = 0;
      this.pump();
    });
    client.on('message', (topic, payload) => {
      if (topic === this.topic('NCMD')) this.command(client, payload);
    });
    client.on('close', () => {
      // Not confirmed: owed still; the next connection's backlog sends them again.
      this.written = [];
      if (this.mode !== 'offline') this.log.warn({ url: this.opts.url }, 'sparkplug connection lost; verdicts wait in the log');
      this.mode = 'offline';
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'sparkplug mqtt error'));
    forgetInFlightOnClose(client);
  }

  /** NBIRTH (seq 0) then a DBIRTH per camera with its last values: what a host needs to (re)build its tags. */
  private birth(client: MqttClient): void {
    const now = Date.now();
    this.seq = 0;
    const node: Metric[] = [
      { name: 'bdSeq', datatype: DataType.UInt64, value: this.bdSeq, timestamp: now },
      { name: REBIRTH_METRIC, datatype: DataType.Boolean, value: false, timestamp: now },
      { name: 'Properties/station', datatype: DataType.String, value: this.opts.station, timestamp: now },
      { name: 'Properties/version', datatype: DataType.String, value: this.opts.version, timestamp: now },
    ];
    client.publish(this.topic('NBIRTH'), Buffer.from(encodePayload({ timestamp: now, seq: this.nextSeq(), metrics: node })), { qos: 0, retain: false });
    for (const cam of this.opts.cameras) {
      const metrics = deviceMetrics(this.last.get(cam), this.counts.get(cam)!, now, false);
      client.publish(this.topic('DBIRTH', cam), Buffer.from(encodePayload({ timestamp: now, seq: this.nextSeq(), metrics })), { qos: 0, retain: false });
    }
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) % 256;
    return s;
  }

  /** NCMD: Node Control/Rebirth true → births again (same bdSeq: the connection is the same). Anything else is logged. */
  private command(client: MqttClient, payload: Buffer): void {
    let metrics;
    try {
      metrics = decodeMetrics(payload);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'sparkplug NCMD is not a Sparkplug B payload; ignored');
      return;
    }
    for (const m of metrics) {
      if (m.name === REBIRTH_METRIC && m.value === true) {
        this.log.info('sparkplug rebirth requested');
        this.birth(client);
      } else {
        this.log.warn({ metric: m.name }, 'sparkplug NCMD metric not supported; ignored');
      }
    }
  }

  decided(msg: VerdictMessage): void {
    this.lastDecided = msg.seq;
    // Offline: the log carries it, in its turn.
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
    if (!this.counts.has(msg.camera)) this.counts.set(msg.camera, zeroCounts());
    const counts = this.counts.get(msg.camera)!;
    counts[msg.verdict]++;
    if (!historical || (this.last.get(msg.camera)?.seq ?? 0) < msg.seq) this.last.set(msg.camera, msg);
    const bytes = encodePayload({ timestamp: Date.now(), seq: this.nextSeq(), metrics: deviceMetrics(msg, counts, msg.decidedAt, historical) });
    this.writing++;
    client.publish(this.topic('DDATA', msg.camera), Buffer.from(bytes), { qos: 0, retain: false }, (err) => {
      this.writing--;
      // Not written (the connection went): still owed, sent from the log after the reconnect.
      if (err) return;
      this.written.push({ seq: msg.seq, at: Date.now() });
      this.scheduleFlush();
      if (this.mode === 'backlog') this.pump();
    });
  }

  committed(verdicts: readonly number[], _delivered: readonly number[]): void {
    for (const seq of verdicts) if (seq > this.lastCommitted) this.lastCommitted = seq;
    if (this.mode === 'backlog') this.pump();
    if (this.outbox.countUnpublished() === 0) this.drained.notify();
  }

  storageHealthy(ok: boolean): void {
    this.storageOk = ok;
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
      if ((exhausted && this.lastCommitted >= this.backlogUpTo) || !this.storageOk) {
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

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.confirm(Date.now() - CONFIRM_MS);
      if (this.written.length > 0) this.scheduleFlush();
    }, 200);
  }

  /** Marks delivered, in one write to the log, what was written by `upTo` on a connection still up. */
  private confirm(upTo: number): void {
    if (!this.client?.connected) return;
    let n = 0;
    while (n < this.written.length && this.written[n]!.at <= upTo) n++;
    if (n === 0) return;
    const seqs = this.written.splice(0, n).map((w) => w.seq);
    this.outbox.markPublished(seqs, Date.now());
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
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (client.connected) {
      const upTo = Date.now();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        client.publish(this.topic('NDEATH'), Buffer.from(this.deathPayload()), { qos: 1, retain: false }, (err) => {
          clearTimeout(t);
          // The broker acknowledges the NDEATH only after reading every DDATA written before it.
          if (!err) this.confirm(upTo);
          resolve();
        });
      });
    }
    await client.endAsync(!client.connected);
  }
}

function readBdSeq(file: string): number {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n >= 0 && n <= 255 ? n : 255;
  } catch {
    return 255; // none yet: the first CONNECT then carries bdSeq 0
  }
}

function writeBdSeq(file: string, bdSeq: number, log: Logger): void {
  try {
    writeFileSync(file, `${bdSeq}\n`);
  } catch (err) {
    log.warn({ err: (err as Error).message, file }, 'cannot keep the sparkplug bdSeq; a restart may repeat it');
  }
}
