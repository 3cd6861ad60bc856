import { resolve } from 'node:path';
import protobuf from 'protobufjs';
import { packageRoot } from '../../paths.js';

/**
 * Sparkplug B payloads: encoded with protobufjs against sparkplug_b.proto (beside this file, the
 * one schema: Debian's protoc decodes the same bytes in the tests). Only scalar metrics.
 */

/** Metric datatypes, numbered as in the Sparkplug 3.0 specification. */
export const DataType = { Int64: 4, UInt64: 8, Double: 10, Boolean: 11, String: 12, DateTime: 13 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export interface Metric {
  /** Left out in NDATA/DDATA once the birth has given the alias (aliases.ts). */
  name?: string;
  alias?: number;
  datatype: DataTypeCode;
  /** null: sent with is_null (e.g. no score for a TIMEOUT). */
  value: number | string | boolean | null;
  /** ms since epoch: when the value was made (a verdict's decidedAt). */
  timestamp: number;
  /** Sent late, from the log: a host keeps it as history and does not update the live tag with it. */
  historical?: boolean;
}

export interface Payload {
  timestamp: number;
  /** 0-255; left out only in NDEATH. */
  seq?: number;
  metrics: Metric[];
}

/** A metric as decoded (NCMD): the value from whichever field of the oneof was set. */
export interface DecodedMetric {
  name?: string;
  alias?: number;
  datatype?: number;
  value?: number | string | boolean;
}

export const SPARKPLUG_PROTO = resolve(packageRoot(), 'src/outputs/sparkplug/sparkplug_b.proto');

let payloadType: protobuf.Type | undefined;
function type(): protobuf.Type {
  payloadType ??= protobuf.loadSync(SPARKPLUG_PROTO).lookupType('org.eclipse.tahu.protobuf.Payload');
  return payloadType;
}

function valueField(m: Metric): Record<string, unknown> {
  if (m.value === null) return { isNull: true };
  switch (m.datatype) {
    case DataType.Int64:
    case DataType.UInt64:
    case DataType.DateTime:
      return { longValue: m.value as number };
    case DataType.Double:
      return { doubleValue: m.value as number };
    case DataType.Boolean:
      return { booleanValue: m.value as boolean };
    case DataType.String:
      return { stringValue: m.value as string };
  }
}

export function encodePayload(p: Payload): Uint8Array {
  const t = type();
  const msg = t.fromObject({
    timestamp: p.timestamp,
    ...(p.seq !== undefined ? { seq: p.seq } : {}),
    metrics: p.metrics.map((m) => ({
      ...(m.name !== undefined ? { name: m.name } : {}),
      ...(m.alias !== undefined ? { alias: m.alias } : {}),
      timestamp: m.timestamp,
      datatype: m.datatype,
      ...(m.historical ? { isHistorical: true } : {}),
      ...valueField(m),
    })),
  });
  return t.encode(msg).finish();
}

/** The metrics of a received payload (an NCMD); throws on bytes that are not a Sparkplug payload. */
export function decodeMetrics(bytes: Uint8Array): DecodedMetric[] {
  const obj = type().toObject(type().decode(bytes), { longs: Number, oneofs: true }) as { metrics?: Array<Record<string, unknown>> };
  return (obj.metrics ?? []).map((m) => ({
    ...(typeof m.name === 'string' ? { name: m.name } : {}),
    ...(typeof m.alias === 'number' ? { alias: m.alias } : {}),
    ...(typeof m.datatype === 'number' ? { datatype: m.datatype } : {}),
    ...(typeof m.value === 'string' ? { value: m[m.value] as number | string | boolean } : {}),
  }));
}

export type MessageType = 'NBIRTH' | 'NDEATH' | 'NDATA' | 'NCMD' | 'DBIRTH' | 'DDEATH' | 'DDATA' | 'DCMD';

/** spBv1.0/{group}/{type}/{edge node}[/{device}]; device '+' subscribes to every device's commands. */
export function sparkplugTopic(groupId: string, type: MessageType, edgeNode: string, device?: string): string {
  return `spBv1.0/${groupId}/${type}/${edgeNode}${device !== undefined ? `/${device}` : ''}`;
}
