import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { VerdictMessage } from '../verdict/types.js';
import { IdleSignal } from '../util/idle-signal.js';

export interface PublisherOptions {
  url: string;
  topicPrefix: string;
  station: string;
  clientId?: string;
  username?: string;
  password?: string;
  keepaliveS: number;
  reconnectMs: number;
  /** QoS 1 messages handed to the client and not yet acknowledged; bounds memory after a long outage. */
  maxInflight?: number;
}

/** The durable verdicts awaiting the broker's acknowledgement (the recorder, in the daemon). */
export interface Outbox {
  unpublished(afterSeq: number, limit: number): VerdictMessage[];
  countUnpublished(): number;
  markPublished(seqs: readonly number[], at: number): void;
}

export function verdictTopic(prefix: string, station: string): string {
  return `${prefix}/${station}/verdict`;
}
export function statusTopic(prefix: string, station: string): string {
  return `${prefix}/${station}/status`;
}

/**
 * Publishes verdicts from the outbox. It reads only durable rows back from the
 * verdict log, moves them to the broker in seq order and marks them published on PUBACK.
 * Delivery is at least once: after a reconnect a verdict may arrive twice, and subscribers
 * deduplicate on (station, seq).
 */
export class VerdictPublisher {
  private client: MqttClient | undefined;
  private readonly inflight = new Set<number>();
  private lastHandedOff = 0;
  private acked: number[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private pumping = false;
  private readonly maxInflight: number;
  private readonly verdictTopic: string;
  private readonly statusTopic: string;
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

  start(): void {
    const client = mqtt.connect(this.opts.url, {
      clientId: this.opts.clientId ?? `inspectd-${this.opts.station}-${process.pid}`,
      username: this.opts.username,
      password: this.opts.password,
      keepalive: this.opts.keepaliveS,
      reconnectPeriod: this.opts.reconnectMs,
      connectTimeout: 10_000,
      clean: true,
      // While disconnected nothing is queued in memory: the outbox in SQLite is the queue.
      queueQoSZero: false,
      will: { topic: this.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client = client;
    client.on('connect', () => {
      this.log.info({ url: this.opts.url, backlog: this.outbox.countUnpublished() }, 'mqtt connected');
      client.publish(this.statusTopic, 'online', { qos: 1, retain: true });
      // Whatever was in flight on the old connection is re-sent from the outbox.
      this.inflight.clear();
      this.lastHandedOff = 0;
      this.pump();
    });
    client.on('close', () => this.log.debug('mqtt connection closed'));
    client.on('offline', () => this.log.warn({ url: this.opts.url }, 'mqtt broker unreachable; verdicts are kept in the outbox'));
    client.on('error', (err) => this.log.warn({ err: err.message }, 'mqtt error'));
  }

  /** Called whenever the outbox changed: new durable verdicts, or acknowledgements written. */
  notify(): void {
    this.pump();
    if (this.outbox.countUnpublished() === 0) this.drained.notify();
  }

  private pump(): void {
    const client = this.client;
    if (!client || !client.connected || this.pumping) return;
    this.pumping = true;
    try {
      while (this.inflight.size < this.maxInflight) {
        const batch = this.outbox.unpublished(this.lastHandedOff, this.maxInflight - this.inflight.size);
        if (batch.length === 0) break;
        for (const msg of batch) {
          this.lastHandedOff = msg.seq;
          this.inflight.add(msg.seq);
          client.publish(this.verdictTopic, JSON.stringify(msg), { qos: 1, retain: false }, (err) => {
            this.inflight.delete(msg.seq);
            if (err) {
              this.log.warn({ seq: msg.seq, err: err.message }, 'verdict publish failed; will resend');
              return;
            }
            this.acked.push(msg.seq);
            this.scheduleFlush();
            this.pump();
          });
        }
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
    return this.drained.wait(timeoutMs, this.outbox.countUnpublished() === 0);
  }

  /** Clean stop: say offline (retained), then disconnect. */
  async stop(): Promise<void> {
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
    await client.endAsync(false);
    this.flushAcks();
  }
}
