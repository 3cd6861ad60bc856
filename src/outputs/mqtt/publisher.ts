import mqtt, { type MqttClient } from 'mqtt';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { VerdictMessage } from '../../verdict/types.js';
import { IdleSignal } from '../../util/idle-signal.js';
import type { BrokerCredentials } from './credentials.js';
import { ForgetfulStore, forgetInFlightOnClose } from './forgetful-store.js';
import type { Outbox, VerdictOutput } from '../output.js';

export interface PublisherOptions {
  url: string;
  topicPrefix: string;
  station: string;
  clientId?: string;
  /** Keep the broker-side session across reconnects (needs clientId). */
  persistentSession?: boolean;
  credentials: BrokerCredentials;
  keepaliveS: number;
  reconnectMs: number;
  /** on-decision: publish as soon as decided; after-commit: once logged, or at the deadline at the latest. */
  publishMode: 'on-decision' | 'after-commit';
  /** QoS 1 messages the outbox hands to the client before it waits for acknowledgements. */
  maxInflight?: number;
}

/** Verdicts decided while a backlog goes out, kept in memory to follow it; beyond this the outbox carries them. */
const HELD_MAX = 1000;

export function verdictTopic(prefix: string, station: string): string {
  return `${prefix}/${station}/verdict`;
}
export function statusTopic(prefix: string, station: string): string {
  return `${prefix}/${station}/status`;
}

/**
 * The MQTT verdict output. A verdict goes to the broker the moment it is decided, beside its
 * durable write, so the PLC's deadline never includes an fsync. What the broker did not
 * acknowledge stays in the outbox (log rows without published_at) and is re-sent, in seq order,
 * after a reconnect or a restart: until that backlog is out, new verdicts queue behind it, so a
 * subscriber sees seqs in order. Delivery is at least once; subscribers deduplicate on (station, seq).
 */
export class VerdictPublisher implements VerdictOutput {
  readonly name = 'mqtt';
  private client: MqttClient | undefined;
  /** Seqs handed to the client on this connection whose publish mark is not yet committed. */
  private readonly handedOff = new Set<number>();
  private inflight = 0;
  private lastReadBack = 0;
  /**
   * After a (re)connect: the verdicts up to this seq are owed from the outbox and go first. Verdicts
   * decided meanwhile wait in `held` (in seq order) and follow once the backlog is handed off.
   */
  private backlogUpTo: number | undefined = 0;
  private held: VerdictMessage[] = [];
  /**
   * Whether the outbox may hold verdicts this connection has not been handed: a backlog, or verdicts
   * sent back to it under overload. While false, every verdict went out live and reading the outbox
   * would only find what is already in flight, so it is not read: each read is a SQLite query on the
   * main thread, and one per acknowledgement and per commit was the largest main-thread cost at
   * 50 fps (1.2 s in 20 s of the bench's profile, up to several ms each, beside the deadline timers).
   */
  private outboxOwes = true;
  private storageOk = true;
  private lastDecided = 0;
  private lastCommitted = 0;
  /** after-commit mode: verdicts not yet logged, each with a timer at its deadline. */
  private readonly awaitingCommit = new Map<number, { msg: VerdictMessage; timer: NodeJS.Timeout }>();
  private acked: number[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private pumping = false;
  private readonly maxInflight: number;
  private readonly verdictTopic: string;
  private readonly statusTopic: string;
  private readonly retained = new Map<string, string>();
  private readonly listeners = new Map<string, (payload: Buffer) => void>();
  private readonly brokerState = new BrokerState();
  private readonly drained = new IdleSignal();

  constructor(
    private readonly outbox: Outbox,
    private readonly opts: PublisherOptions,
    private readonly log: Logger,
  ) {
    this.maxInflight = opts.maxInflight ?? 200;
    this.verdictTopic = verdictTopic(opts.topicPrefix, opts.station);
    this.statusTopic = statusTopic(opts.topicPrefix, opts.station);
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Resolves true at the first connect, false after timeoutMs (the broker may be down: the line still starts). */
  firstConnect(timeoutMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    return new Promise((res) => {
      const t = setTimeout(() => res(false), timeoutMs);
      this.client?.once('connect', () => {
        clearTimeout(t);
        res(true);
      });
    });
  }

  start(): void {
    const client = mqtt.connect(this.opts.url, {
      clientId: this.opts.clientId ?? `inspectd-${this.opts.station}-${process.pid}`,
      ...this.opts.credentials,
      keepalive: this.opts.keepaliveS,
      reconnectPeriod: this.opts.reconnectMs,
      connectTimeout: 10_000,
      clean: !this.opts.persistentSession,
      // While disconnected nothing is queued in memory: the outbox in SQLite is the queue, and the only one.
      queueQoSZero: false,
      outgoingStore: new ForgetfulStore(),
      will: { topic: this.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client = client;
    client.on('connect', () => {
      // A verdict goes out the moment it is written, never held by Nagle's algorithm until the
      // broker acknowledges the previous segment (a TIMEOUT often follows another verdict by a few ms).
      (client.stream as Socket).setNoDelay?.(true);
      const outage = this.brokerState.up();
      this.log.info({ event: 'broker.up', url: this.opts.url, backlog: this.outbox.countUnpublished(), ...outage }, 'mqtt connected');
      client.publish(this.statusTopic, 'online', { qos: 1, retain: true });
      for (const [topic, payload] of this.retained) client.publish(topic, payload, { qos: 1, retain: true });
      // A clean session: subscriptions are made anew on every connect.
      for (const topic of this.listeners.keys()) client.subscribe(topic, { qos: 1 });
      // Whatever was in flight on the old connection is re-sent from the outbox, before anything new.
      this.handedOff.clear();
      this.inflight = 0;
      this.lastReadBack = 0;
      this.enterBacklog();
      this.pump();
    });
    client.on('message', (topic, payload) => this.listeners.get(topic)?.(payload));
    client.on('close', () => this.log.debug('mqtt connection closed'));
    forgetInFlightOnClose(client);
    // Once per outage, not per reconnect attempt (every reconnectMs): the state change is the news.
    client.on('reconnect', () => this.brokerState.reconnecting());
    client.on('offline', () => {
      if (this.brokerState.down()) this.log.warn({ event: 'broker.down', url: this.opts.url, outages: this.brokerState.outages }, 'mqtt broker unreachable; verdicts are kept in the outbox');
    });
    // MQTT.js's messages never carry the password; a refused login says 'Not authorized'.
    client.on('error', (err) => {
      if (this.brokerState.error(err.message)) this.log.warn({ event: 'broker.error', code: 'INSPECTD_BROKER', err: err.message }, 'mqtt error');
    });
  }

  /** A retained message under the station's prefix (birth, health, camera status), re-sent on every connect. */
  retain(subtopic: string, payload: unknown): void {
    const topic = `${this.opts.topicPrefix}/${this.opts.station}/${subtopic}`;
    const text = JSON.stringify(payload);
    if (this.retained.get(topic) === text) return;
    this.retained.set(topic, text);
    if (this.client?.connected) this.client.publish(topic, text, { qos: 1, retain: true });
  }

  /** Messages from the plant on `{prefix}/{station}/{subtopic}` (the PLC's trigger), delivered to handler. */
  listen(subtopic: string, handler: (payload: Buffer) => void): void {
    const topic = `${this.opts.topicPrefix}/${this.opts.station}/${subtopic}`;
    this.listeners.set(topic, handler);
    if (this.client?.connected) this.client.subscribe(topic, { qos: 1 });
  }

  /** A reply under the station's prefix (QoS 1, not retained); dropped while disconnected. */
  say(subtopic: string, payload: unknown): void {
    if (!this.client?.connected) return;
    this.client.publish(`${this.opts.topicPrefix}/${this.opts.station}/${subtopic}`, JSON.stringify(payload), { qos: 1, retain: false });
  }

  decided(msg: VerdictMessage): void {
    this.lastDecided = msg.seq;
    if (this.opts.publishMode === 'after-commit') {
      // Logged first, but a slow disk never makes the PLC's answer late: at the deadline it goes anyway.
      const late = Math.max(0, msg.capturedAt + msg.deadlineMs - Date.now());
      const timer = setTimeout(() => {
        this.awaitingCommit.delete(msg.seq);
        this.sendLive(msg);
      }, late);
      this.awaitingCommit.set(msg.seq, { msg, timer });
      return;
    }
    this.sendLive(msg);
  }

  private sendLive(msg: VerdictMessage): void {
    const client = this.client;
    // Disconnected: the outbox delivers it after the reconnect, in its turn.
    if (!client?.connected || this.handedOff.has(msg.seq)) return;
    if (this.backlogUpTo !== undefined && msg.seq > this.backlogUpTo) {
      // Behind a backlog: wait in order. Past the bound, let the outbox carry these too.
      if (this.held.length < HELD_MAX) this.held.push(msg);
      else this.enterBacklog();
      return;
    }
    if (this.backlogUpTo !== undefined) return;
    if (this.inflight >= this.maxInflight * 4) {
      // A broker that stopped acknowledging: send new verdicts back to the outbox so memory stays bounded.
      this.enterBacklog();
      return;
    }
    this.send(client, msg);
  }

  /** Everything decided so far is owed from the outbox, before anything new. */
  private enterBacklog(): void {
    this.backlogUpTo = this.lastDecided;
    this.held = [];
    this.outboxOwes = true;
  }

  private send(client: MqttClient, msg: VerdictMessage): void {
    this.handedOff.add(msg.seq);
    this.inflight++;
    client.publish(this.verdictTopic, JSON.stringify(msg), { qos: 1, retain: false }, (err) => {
      this.inflight--;
      if (err) {
        // The connection went: on reconnect the outbox re-sends everything not yet marked.
        // Debug: a dropped connection fails every publish in flight; broker.down says it once.
        this.log.debug({ event: 'verdict.publish_failed', seq: msg.seq, err: err.message }, 'verdict publish failed; will resend');
        return;
      }
      this.acked.push(msg.seq);
      this.scheduleFlush();
      this.pump();
    });
  }

  committed(verdicts: readonly number[], delivered: readonly number[]): void {
    for (const seq of verdicts) {
      if (seq > this.lastCommitted) this.lastCommitted = seq;
      const waiting = this.awaitingCommit.get(seq);
      if (waiting) {
        // Logged now: out it goes, from memory (the outbox would only give back this same message).
        clearTimeout(waiting.timer);
        this.awaitingCommit.delete(seq);
        this.sendLive(waiting.msg);
      }
    }
    for (const seq of delivered) this.handedOff.delete(seq);
    this.pump();
    // Counting the outbox is a query: only when a stop waits for the drain.
    if (this.drained.waiting && this.awaitingCommit.size === 0 && this.outbox.countUnpublished() === 0) this.drained.notify();
  }

  storageHealthy(ok: boolean): void {
    this.storageOk = ok;
    if (!ok) {
      // The outbox cannot take new verdicts now: stop waiting for it, deliver straight from memory.
      for (const { msg, timer } of this.awaitingCommit.values()) {
        clearTimeout(timer);
        this.sendLive(msg);
      }
      this.awaitingCommit.clear();
      this.pump();
    }
  }

  /** Moves committed, unacknowledged verdicts to the broker in seq order, skipping what is already out. */
  private pump(): void {
    const client = this.client;
    if (!client || !client.connected || this.pumping || !this.outboxOwes) return;
    this.pumping = true;
    try {
      let exhausted = false;
      while (this.inflight < this.maxInflight) {
        const batch = this.outbox.unpublished(this.lastReadBack, this.maxInflight - this.inflight);
        if (batch.length === 0) {
          exhausted = true;
          break;
        }
        for (const msg of batch) {
          this.lastReadBack = msg.seq;
          if (!this.handedOff.has(msg.seq)) this.send(client, msg);
        }
      }
      // The backlog is handed off once the outbox has nothing more and every owed verdict was committed
      // (so the read covered it), or at once when the log is failing and the outbox cannot deliver.
      const owed = this.backlogUpTo;
      if (owed !== undefined && ((exhausted && this.lastCommitted >= owed) || !this.storageOk)) {
        this.backlogUpTo = undefined;
        // Read to its end with every owed verdict committed: from here each verdict goes out live. (A
        // backlog cut short by failing storage is still owed: the outbox keeps being read.)
        if (this.storageOk) this.outboxOwes = false;
        const held = this.held;
        this.held = [];
        for (const msg of held) if (!this.handedOff.has(msg.seq)) this.send(client, msg);
        this.log.debug({ seq: this.lastReadBack, held: held.length }, 'mqtt backlog sent; publishing verdicts as decided');
      } else if (owed === undefined && exhausted && this.storageOk && this.lastCommitted >= this.lastDecided) {
        // After a storage fault: the outbox is read out and everything decided is in it.
        this.outboxOwes = false;
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Acks are written in batches: one fsync per batch, not per verdict. */
  private scheduleFlush(): void {
    if (this.acked.length >= 100) {
      this.flushAcks();
      return;
    }
    this.flushTimer ??= setTimeout(() => this.flushAcks(), 20);
  }

  private flushAcks(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.acked.length === 0) return;
    const seqs = this.acked;
    this.acked = [];
    this.outbox.markPublished(seqs, Date.now());
  }

  /** Resolves true once every recorded verdict is acknowledged, false at the timeout. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.flushAcks();
    this.pump();
    return this.drained.wait(timeoutMs, this.awaitingCommit.size === 0 && this.outbox.countUnpublished() === 0);
  }

  /** Clean stop: say offline (retained), then disconnect. */
  async stop(): Promise<void> {
    for (const { timer } of this.awaitingCommit.values()) clearTimeout(timer);
    const client = this.client;
    if (!client) return;
    this.flushAcks();
    if (client.connected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        client.publish(this.statusTopic, 'offline', { qos: 1, retain: true }, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    // Not connected (still connecting, as after a start that failed at once): nothing to flush, and a
    // graceful end would leave the half-open socket up until the broker's keepalive (~50 s) (issue 6).
    await client.endAsync(!client.connected);
    this.flushAcks();
  }
}

/**
 * The broker connection as the log tells it: one line when it goes down, one when it is back (with
 * how long it was away and how many reconnects it took), and an error message only the first time it
 * is seen in one outage. MQTT.js reports every failed reconnect (each reconnectMs) as close, offline
 * and error; logging each would be a line a second for a whole night's outage.
 */
export class BrokerState {
  outages = 0;
  private isUp: boolean | undefined;
  private downSince = 0;
  private reconnectAttempts = 0;
  private lastError: string | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** Connected: after an outage, what it was. */
  up(): { downForMs?: number; reconnectAttempts?: number } {
    const was = this.isUp;
    this.isUp = true;
    this.lastError = undefined;
    if (was !== false) return {};
    const outage = { downForMs: this.now() - this.downSince, reconnectAttempts: this.reconnectAttempts };
    this.reconnectAttempts = 0;
    return outage;
  }

  /** A reconnect attempt begins (MQTT.js: every reconnectMs while the broker is away). */
  reconnecting(): void {
    if (this.isUp === false) this.reconnectAttempts++;
  }

  /** Offline; true when this is news (the first since it was up). */
  down(): boolean {
    if (this.isUp === false) return false;
    this.isUp = false;
    this.outages++;
    this.downSince = this.now();
    return true;
  }

  /** A connection error; true the first time this message is seen since the broker was last up. */
  error(message: string): boolean {
    if (message === this.lastError) return false;
    this.lastError = message;
    return true;
  }
}
