import { spawnSync } from 'node:child_process';
import { dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { SPARKPLUG_PROTO } from '../../src/outputs/sparkplug/payload.js';

/**
 * A Sparkplug host's view, for tests: every message under spBv1.0/# as raw bytes, decoded by
 * Debian's protoc against sparkplug_b.proto (not by inspectd's own encoder), in arrival order.
 */
export interface ProtocMetric {
  /** As on the wire; for data named by alias only, the host's SparkplugHost.decode fills it from the birth. */
  name?: string;
  alias?: number;
  /** The wire carried the name (births; data sends the alias only). */
  named: boolean;
  datatype?: number;
  timestamp?: number;
  historical: boolean;
  isNull: boolean;
  /** The value field protoc printed (long_value, string_value, ...), as text. */
  field?: string;
  value?: string | number | boolean;
}

export interface ProtocPayload {
  timestamp?: number;
  seq?: number;
  metrics: ProtocMetric[];
}

const protoArgs = ['--proto_path=' + dirname(SPARKPLUG_PROTO), basename(SPARKPLUG_PROTO)];
const batchArgs = ['--proto_path=' + dirname(SPARKPLUG_PROTO), '--proto_path=' + dirname(fileURLToPath(import.meta.url)), 'sparkplug_batch.proto'];

/** `protoc --decode=org.eclipse.tahu.protobuf.Payload` of the bytes, parsed from its text format. */
export function protocDecode(bytes: Buffer): ProtocPayload {
  const r = spawnSync('protoc', ['--decode=org.eclipse.tahu.protobuf.Payload', ...protoArgs], { input: bytes });
  if (r.status !== 0) throw new Error(`protoc could not decode: ${r.stderr.toString()}`);
  return parsePayloads(r.stdout.toString(), false)[0]!;
}

/** Many payloads in one protoc call (test/helpers/sparkplug_batch.proto), in the order given. */
export function protocDecodeMany(payloads: readonly Buffer[]): ProtocPayload[] {
  if (payloads.length === 0) return [];
  // Each payload as field 1 of Batch: tag 0x0a, varint length, the bytes as received.
  const parts: Buffer[] = [];
  for (const p of payloads) {
    const len: number[] = [];
    let n = p.length;
    do {
      len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n > 0);
    parts.push(Buffer.from([0x0a, ...len]), p);
  }
  const r = spawnSync('protoc', ['--decode=inspectd.test.Batch', ...batchArgs], { input: Buffer.concat(parts), maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`protoc could not decode: ${r.stderr.toString()}`);
  const out = parsePayloads(r.stdout.toString(), true);
  if (out.length !== payloads.length) throw new Error(`protoc decoded ${out.length} of ${payloads.length} payloads`);
  return out;
}

/** protoc's text format: one payload, or (batch) `payloads { ... }` blocks. */
function parsePayloads(text: string, batch: boolean): ProtocPayload[] {
  const all: ProtocPayload[] = [];
  let out: ProtocPayload | undefined = batch ? undefined : { metrics: [] };
  if (out) all.push(out);
  let metric: ProtocMetric | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (batch && line === 'payloads {') all.push((out = { metrics: [] }));
    else if (line === 'metrics {') metric = { historical: false, isNull: false, named: false };
    else if (line === '}') {
      if (metric) out!.metrics.push(metric);
      else if (batch) out = undefined;
      metric = undefined;
    } else if (line) {
      const m = /^(\w+): (.*)$/.exec(line);
      if (!m || !out) throw new Error(`unexpected protoc line: ${line}`);
      const [, key, text] = m as unknown as [string, string, string];
      const value: string | number | boolean = text.startsWith('"') ? (JSON.parse(text) as string) : text === 'true' ? true : text === 'false' ? false : Number(text);
      if (!metric) {
        if (key === 'timestamp') out.timestamp = value as number;
        else if (key === 'seq') out.seq = value as number;
      } else if (key === 'name') {
        metric.name = value as string;
        metric.named = true;
      } else if (key === 'alias') metric.alias = value as number;
      else if (key === 'datatype') metric.datatype = value as number;
      else if (key === 'timestamp') metric.timestamp = value as number;
      else if (key === 'is_historical') metric.historical = value === true;
      else if (key === 'is_null') metric.isNull = value === true;
      else if (key.endsWith('_value')) {
        metric.field = key;
        metric.value = value;
      }
    }
  }
  return all;
}

/** `protoc --encode` of a payload in protobuf text format: a host's command built without inspectd's code. */
export function protocEncode(text: string): Buffer {
  const r = spawnSync('protoc', ['--encode=org.eclipse.tahu.protobuf.Payload', ...protoArgs], { input: text });
  if (r.status !== 0) throw new Error(`protoc could not encode: ${r.stderr.toString()}`);
  return r.stdout;
}

export interface SparkplugMessage {
  topic: string;
  /** NBIRTH, DDATA, ...; STATE for spBv1.0/STATE/{host} (JSON, not protobuf). */
  type: string;
  device?: string;
  bytes: Buffer;
  receivedAt: number;
}

export class SparkplugHost {
  readonly messages: SparkplugMessage[] = [];
  private readonly decoded = new WeakMap<SparkplugMessage, ProtocPayload>();
  /** Aliases (alias → name) as a host keeps them: NBIRTH starts a new table, each DBIRTH adds its device's. */
  private aliases = new Map<number, string>();
  private decodedUpTo = 0;
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string, opts: mqtt.IClientOptions = {}): Promise<SparkplugHost> {
    const client = await mqtt.connectAsync(url, { clientId: `spb-host-${process.pid}-${Math.random().toString(36).slice(2)}`, reconnectPeriod: 100, ...opts });
    const host = new SparkplugHost(client);
    client.on('message', (topic, bytes) => {
      const parts = topic.split('/');
      const type = parts[1] === 'STATE' ? 'STATE' : parts[2]!;
      const device = parts[1] === 'STATE' ? undefined : parts[4];
      host.messages.push({ topic, type, ...(device !== undefined ? { device } : {}), bytes: Buffer.from(bytes), receivedAt: Date.now() });
    });
    // A clean session: subscribe again after each reconnect (the broker may be restarted by the test).
    client.on('connect', () => void client.subscribe('spBv1.0/#', { qos: 1 }));
    await client.subscribeAsync('spBv1.0/#', { qos: 1 });
    return host;
  }

  of(type: string): SparkplugMessage[] {
    return this.messages.filter((m) => m.type === type);
  }

  /**
   * protoc's decoding (every message received so far, in one call, in arrival order), with the names
   * of alias-only metrics filled in from the births before each message.
   */
  decode(m: SparkplugMessage): ProtocPayload {
    if (!this.decoded.has(m)) this.decodeReceived();
    const d = this.decoded.get(m);
    if (!d) throw new Error(`${m.topic} is not a Sparkplug payload`);
    return d;
  }

  private decodeReceived(): void {
    const todo = this.messages.slice(this.decodedUpTo).filter((m) => m.type !== 'STATE');
    this.decodedUpTo = this.messages.length;
    const payloads = protocDecodeMany(todo.map((m) => m.bytes));
    todo.forEach((m, i) => {
      const d = payloads[i]!;
      if (m.type === 'NBIRTH') this.aliases = new Map();
      for (const x of d.metrics) {
        if ((m.type === 'NBIRTH' || m.type === 'DBIRTH') && x.alias !== undefined && x.name !== undefined) this.aliases.set(x.alias, x.name);
        else if (x.name === undefined && x.alias !== undefined) x.name = this.aliases.get(x.alias);
      }
      this.decoded.set(m, d);
    });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export function metric(p: ProtocPayload, name: string): ProtocMetric | undefined {
  return p.metrics.find((m) => m.name === name);
}
