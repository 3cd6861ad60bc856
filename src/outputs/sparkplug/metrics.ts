import { VERDICTS, type VerdictKind, type VerdictMessage } from '../../verdict/types.js';
import { DataType, type Metric } from './payload.js';

/**
 * What a camera (a Sparkplug device) reports: the last verdict's fields and the counts by verdict.
 * The same set goes in its DBIRTH (the last values, or null before the first verdict) and in every
 * DDATA, so a host's tags never change type or disappear.
 */
export type VerdictCounts = Record<VerdictKind, number>;

export function zeroCounts(): VerdictCounts {
  return Object.fromEntries(VERDICTS.map((v) => [v, 0])) as VerdictCounts;
}

/** The device's metrics for one verdict (or, without one, the birth's nulls); counts as given. */
export function deviceMetrics(msg: VerdictMessage | undefined, counts: VerdictCounts, at: number, historical: boolean): Metric[] {
  const ts = msg?.decidedAt ?? at;
  const m = (name: string, datatype: Metric['datatype'], value: Metric['value']): Metric => ({ name, datatype, value, timestamp: ts, ...(historical ? { historical } : {}) });
  return [
    m('verdict', DataType.String, msg?.verdict ?? null),
    m('score', DataType.Double, msg?.score ?? null),
    // The station's seq: with the station it names the verdict, as in the MQTT JSON and the log.
    m('seq', DataType.UInt64, msg?.seq ?? null),
    m('partId', DataType.String, msg?.partId ?? null),
    m('frameId', DataType.Int64, msg?.frameId ?? null),
    m('defects', DataType.UInt64, msg ? msg.defects.length : null),
    m('errorCode', DataType.String, msg?.error?.code ?? null),
    m('capturedAt', DataType.DateTime, msg?.capturedAt ?? null),
    m('latencyMs', DataType.Double, msg?.latencyMs ?? null),
    m('deadlineMs', DataType.Double, msg?.deadlineMs ?? null),
    m('model', DataType.String, msg ? `${msg.model.name} ${msg.model.version}` : null),
    m('precision', DataType.String, msg?.model.precision ?? null),
    m('backend', DataType.String, msg?.model.backend ?? null),
    ...VERDICTS.map((v) => m(`count/${v}`, DataType.UInt64, counts[v])),
  ];
}

export const DEVICE_REBIRTH_METRIC = 'Device Control/Rebirth';

/** What a DBIRTH adds to the data set: the device's own rebirth command (DCMD), false as the specification's controls are. */
export function deviceBirthMetrics(msg: VerdictMessage | undefined, counts: VerdictCounts, at: number): Metric[] {
  return [...deviceMetrics(msg, counts, at, false), { name: DEVICE_REBIRTH_METRIC, datatype: DataType.Boolean, value: false, timestamp: at }];
}

/** The node's own values (NBIRTH, then NDATA when they change): counts over every camera, what Sparkplug still owes, and the log's state. */
export interface NodeValues {
  counts: VerdictCounts;
  backlog: number;
  storageOk: boolean;
}

export function nodeMetrics(v: NodeValues, at: number): Metric[] {
  return [
    ...VERDICTS.map((k): Metric => ({ name: `count/${k}`, datatype: DataType.UInt64, value: v.counts[k], timestamp: at })),
    { name: 'backlog', datatype: DataType.UInt64, value: v.backlog, timestamp: at },
    { name: 'storage/ok', datatype: DataType.Boolean, value: v.storageOk, timestamp: at },
  ];
}
