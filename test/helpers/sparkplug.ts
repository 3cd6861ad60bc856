import { spawnSync } from 'node:child_process';
import { dirname, basename } from 'node:path';
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

/** `protoc --decode=org.eclipse.tahu.protobuf.Payload` of the bytes, parsed from its text format. */
export function protocDecode(bytes: Buffer): ProtocPayload {
  const r = spawnSync('protoc', ['--decode=org.eclipse.tahu.protobuf.Payload', ...protoArgs], { input: bytes });
  if (r.status !== 0) throw new Error(`protoc could not decode: ${r.stderr.toString()}`);
  const out: ProtocPayload = { metrics: [] };
  let metric: ProtocMetric | undefined;
  for (const raw of r.stdout.toString().split('\n')) {
    const line = raw.trim();
    if (line === 'metrics {') metric = { historical: false, isNull: false, named: false };
    else if (line === '}') {
      if (metric) out.metrics.push(metric);
      metric = undefined;
    } else if (line) {
      const m = /^(\w+): (.*)$/.exec(line);
      if (!m) throw new Error(`unexpected protoc line: ${line}`);
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
  return out;
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
  /** The aliases the births before this message gave (alias → name), as a host keeps them. */
  aliases: ReadonlyMap<number, string>;
}

export class SparkplugHost {
  readonly messages: SparkplugMessage[] = [];
  private readonly decoded = new WeakMap<SparkplugMessage, ProtocPayload>();
  /** Replaced, never changed, at each birth: a message keeps the table of its time. */
  private aliases: ReadonlyMap<number, string> = new Map();
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string, opts: mqtt.IClientOptions = {}): Promise<SparkplugHost> {
    const client = await mqtt.connectAsync(url, { clientId: `spb-host-${process.pid}-${Math.random().toString(36).slice(2)}`, reconnectPeriod: 100, ...opts });
    const host = new SparkplugHost(client);
    client.on('message', (topic, bytes) => {
      const parts = topic.split('/');
      const type = parts[1] === 'STATE' ? 'STATE' : parts[2]!;
      const device = parts[1] === 'STATE' ? undefined : parts[4];
      const m: SparkplugMessage = { topic, type, ...(device !== undefined ? { device } : {}), bytes: Buffer.from(bytes), receivedAt: Date.now(), aliases: host.aliases };
      // As a host does: NBIRTH starts a new alias table, each DBIRTH adds its device's.
      if (type === 'NBIRTH' || type === 'DBIRTH') {
        const next = new Map(type === 'NBIRTH' ? [] : host.aliases);
        for (const x of protocDecode(m.bytes).metrics) if (x.alias !== undefined && x.name !== undefined) next.set(x.alias, x.name);
        host.aliases = next;
      }
      host.messages.push(m);
    });
    // A clean session: subscribe again after each reconnect (the broker may be restarted by the test).
    client.on('connect', () => void client.subscribe('spBv1.0/#', { qos: 1 }));
    await client.subscribeAsync('spBv1.0/#', { qos: 1 });
    return host;
  }

  of(type: string): SparkplugMessage[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** protoc's decoding, with names of alias-only metrics filled in from the births before it. */
  decode(m: SparkplugMessage): ProtocPayload {
    let d = this.decoded.get(m);
    if (!d) {
      d = protocDecode(m.bytes);
      for (const x of d.metrics) if (x.name === undefined && x.alias !== undefined) x.name = m.aliases.get(x.alias);
      this.decoded.set(m, d);
    }
    return d;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export function metric(p: ProtocPayload, name: string): ProtocMetric | undefined {
  return p.metrics.find((m) => m.name === name);
}
