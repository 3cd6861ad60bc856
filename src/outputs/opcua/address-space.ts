import { DataType, StatusCodes, type AddressSpace, type Namespace, type UAMethod, type UAObject, type UAVariable } from 'node-opcua';
import type { ModelInfo, VerdictKind, VerdictMessage } from '../../verdict/types.js';
import { VERDICTS } from '../../verdict/types.js';
import { VisionSystem } from './machine-vision.js';

/**
 * The station's nodes, laid out after OPC 40100 (Machine Vision) where it fits: the station is a
 * VisionSystemType instance with its state machine (machine-vision.ts) and inspectd's own state, and per camera the last result, counters, camera and model
 * state and the PLC handshake. Node ids are strings in the server's own namespace, built from the
 * browse path (`{station}.Cameras.{camera}.LastResult.Verdict`), so a PLC program can hard-code them;
 * docs/opcua.md lists them and where this departs from OPC 40100.
 *
 * Everything here is written with setValueFromSource on the server's thread at verdict time: no getter
 * is polled, and a subscription with samplingInterval 0 gets every change (each is queued in its
 * monitored item, not sampled).
 */

const COUNTER_NAMES: Record<VerdictKind, string> = { PASS: 'Pass', FAIL: 'Fail', TIMEOUT: 'Timeout', ERROR: 'Error' };

type Scalar = { dataType: DataType; value: unknown };

/**
 * One variable and the value it holds, set from the source (read-only to clients unless made writable).
 * A value equal to the one it holds is not set again: node-opcua would still build a Variant and a
 * DataValue, clone the old one and tell every monitored item of the node (its source timestamp
 * changed), which is most of what a verdict costs the server's thread in setting values; OPC UA
 * Part 4 has SourceTimestamp as the time of the value's last change anyway. A writable one is always
 * set: a client's write changes it behind this object's back.
 */
class Value {
  /** What the node holds by this object's doing (a Date as its ms), to tell an unchanged value; first, what it was made with. */
  private last: unknown;
  constructor(
    readonly node: UAVariable,
    initial: unknown,
    private readonly writable = false,
  ) {
    this.last = initial instanceof Date ? initial.getTime() : initial;
  }
  set(v: Scalar, at?: number | Date): void {
    const key = v.value instanceof Date ? v.value.getTime() : v.value;
    if (!this.writable && key === this.last) return;
    this.last = key;
    this.node.setValueFromSource(v as never, StatusCodes.Good, at === undefined ? new Date() : at instanceof Date ? at : new Date(at));
  }
}

function variable(ns: Namespace, parent: UAObject, id: string, name: string, dataType: DataType, value: unknown, description: string, writable = false): Value {
  const node = ns.addVariable({
    componentOf: parent,
    browseName: name,
    nodeId: `s=${id}.${name}`,
    description,
    dataType,
    minimumSamplingInterval: 0,
    ...(writable ? { accessLevel: 'CurrentRead | CurrentWrite', userAccessLevel: 'CurrentRead | CurrentWrite' } : {}),
    value: { dataType, value },
  });
  return new Value(node, value, writable);
}

function folder(ns: Namespace, parent: UAObject, id: string, name: string, description: string): UAObject {
  return ns.addObject({ componentOf: parent, browseName: name, nodeId: `s=${id}.${name}`, description });
}

export class CounterNodes {
  private readonly nodes: Record<VerdictKind, Value>;
  private readonly counts: Record<VerdictKind, number> = { PASS: 0, FAIL: 0, TIMEOUT: 0, ERROR: 0 };
  private readonly total: Value;
  constructor(ns: Namespace, parent: UAObject, id: string) {
    const obj = folder(ns, parent, id, 'ResultCounts', 'Verdicts decided since the daemon started, by verdict');
    const objId = `${id}.ResultCounts`;
    this.nodes = Object.fromEntries(VERDICTS.map((v) => [v, variable(ns, obj, objId, COUNTER_NAMES[v], DataType.UInt32, 0, `${v} verdicts since start`)])) as Record<VerdictKind, Value>;
    this.total = variable(ns, obj, objId, 'Total', DataType.UInt32, 0, 'All verdicts since start');
  }
  add(v: VerdictKind, at: number | Date): void {
    this.counts[v]++;
    this.nodes[v].set({ dataType: DataType.UInt32, value: this.counts[v] }, at);
    this.total.set({ dataType: DataType.UInt32, value: VERDICTS.reduce((n, k) => n + this.counts[k], 0) }, at);
  }
}

/** The last result of one camera, field by field, and whole as JSON (one read that cannot mix two results). */
export class ResultNodes {
  private readonly f: Record<'seq' | 'verdict' | 'score' | 'partId' | 'frameId' | 'defects' | 'defectCount' | 'capturedAt' | 'decidedAt' | 'latencyMs' | 'deadlineMs' | 'errorCode' | 'modelName' | 'modelVersion' | 'json', Value>;
  constructor(ns: Namespace, parent: UAObject, id: string) {
    const obj = folder(ns, parent, id, 'LastResult', "The camera's most recent verdict (OPC 40100 ResultManagement, simplified)");
    const rid = `${id}.LastResult`;
    this.f = {
      seq: variable(ns, obj, rid, 'Seq', DataType.UInt32, 0, 'Station-wide verdict sequence number (the MQTT payload seq); 0 until the first verdict'),
      verdict: variable(ns, obj, rid, 'Verdict', DataType.String, '', 'PASS, FAIL, TIMEOUT or ERROR; only PASS keeps the part'),
      score: variable(ns, obj, rid, 'Score', DataType.Double, -1, 'Defect score in [0,1]; -1 when no inference answered in time'),
      partId: variable(ns, obj, rid, 'PartId', DataType.String, '', 'The part id the trigger gave (or {camera}-{frameId}); empty when none'),
      frameId: variable(ns, obj, rid, 'FrameId', DataType.Int32, -1, "The camera's frame number; -1 when no frame came for a trigger"),
      defects: variable(ns, obj, rid, 'Defects', DataType.String, '[]', 'JSON array of {label, score, box?: [x, y, w, h]}'),
      defectCount: variable(ns, obj, rid, 'DefectCount', DataType.UInt32, 0, 'Number of defects in Defects'),
      capturedAt: variable(ns, obj, rid, 'CapturedAt', DataType.DateTime, new Date(0), 'When the frame was captured (or the trigger arrived)'),
      decidedAt: variable(ns, obj, rid, 'DecidedAt', DataType.DateTime, new Date(0), 'When the verdict was decided'),
      latencyMs: variable(ns, obj, rid, 'LatencyMs', DataType.Double, 0, 'DecidedAt - CapturedAt in ms'),
      deadlineMs: variable(ns, obj, rid, 'DeadlineMs', DataType.Double, 0, 'The deadline this verdict was due by, ms after capture'),
      errorCode: variable(ns, obj, rid, 'ErrorCode', DataType.String, '', 'INSPECTD_... code of an ERROR verdict; empty otherwise'),
      modelName: variable(ns, obj, rid, 'ModelName', DataType.String, '', 'Model that judged this result'),
      modelVersion: variable(ns, obj, rid, 'ModelVersion', DataType.String, '', 'Its version'),
      json: variable(ns, obj, rid, 'ResultJson', DataType.String, '', 'The whole verdict as the MQTT payload carries it (docs/contracts.md)'),
    };
  }
  /** Sets every field, Seq last; returns the ResultJson it set. */
  set(m: VerdictMessage, at: Date): string {
    const json = JSON.stringify(m);
    const f = this.f;
    f.verdict.set({ dataType: DataType.String, value: m.verdict }, at);
    f.score.set({ dataType: DataType.Double, value: m.score ?? -1 }, at);
    f.partId.set({ dataType: DataType.String, value: m.partId ?? '' }, at);
    f.frameId.set({ dataType: DataType.Int32, value: m.frameId }, at);
    f.defects.set({ dataType: DataType.String, value: m.defects.length === 0 ? '[]' : JSON.stringify(m.defects) }, at);
    f.defectCount.set({ dataType: DataType.UInt32, value: m.defects.length }, at);
    f.capturedAt.set({ dataType: DataType.DateTime, value: new Date(m.capturedAt) }, at);
    f.decidedAt.set({ dataType: DataType.DateTime, value: at }, at);
    f.latencyMs.set({ dataType: DataType.Double, value: m.latencyMs }, at);
    f.deadlineMs.set({ dataType: DataType.Double, value: m.deadlineMs }, at);
    f.errorCode.set({ dataType: DataType.String, value: m.error?.code ?? '' }, at);
    f.modelName.set({ dataType: DataType.String, value: m.model.name }, at);
    f.modelVersion.set({ dataType: DataType.String, value: m.model.version }, at);
    f.json.set({ dataType: DataType.String, value: json }, at);
    // Seq last: a client that waits on Seq finds the other fields already set when it reads them.
    f.seq.set({ dataType: DataType.UInt32, value: m.seq }, at);
    return json;
  }
}

/** The model a camera runs, and whether it is serving. */
export class ModelNodes {
  private readonly state: Value;
  private readonly fields: Record<'name' | 'version' | 'precision' | 'backend', Value>;
  constructor(ns: Namespace, parent: UAObject, id: string, info: ModelInfo) {
    const obj = folder(ns, parent, id, 'Model', 'The model this camera runs (OPC 40100 calls this a recipe; here it is fixed per start)');
    const mid = `${id}.Model`;
    this.fields = {
      name: variable(ns, obj, mid, 'Name', DataType.String, info.name, 'Model name (models/*/model.json)'),
      version: variable(ns, obj, mid, 'Version', DataType.String, info.version, 'Model version'),
      precision: variable(ns, obj, mid, 'Precision', DataType.String, info.precision, 'fp32 or int8'),
      backend: variable(ns, obj, mid, 'Backend', DataType.String, info.backend, 'onnxruntime or tensorrt'),
    };
    // The daemon starts only with every model loaded and self-tested, so a running server means Ready.
    this.state = variable(ns, obj, mid, 'State', DataType.String, 'Ready', 'Ready (loaded and self-tested) or Closed (the daemon is stopping)');
  }
  /** A reload gave the camera another model (swapped in only once it loaded and self-tested). */
  describe(info: ModelInfo): void {
    for (const k of ['name', 'version', 'precision', 'backend'] as const) this.fields[k].set({ dataType: DataType.String, value: info[k] });
  }
  setState(s: 'Ready' | 'Closed'): void {
    this.state.set({ dataType: DataType.String, value: s });
  }
}

/** The PLC handshake of one camera (docs/plc.md): ResultReady / ResultSeq / ResultAcknowledged and the methods. */
export interface HandshakeNodes {
  resultReady: Value;
  resultSeq: Value;
  resultAcknowledged: Value;
  trigger: UAMethod;
  acknowledge: UAMethod;
}

export interface CameraNodes {
  /** The camera's object: the source of its ResultReady events. */
  object: UAObject;
  triggered: Value;
  state: Value;
  stateReason: Value;
  result: ResultNodes;
  counts: CounterNodes;
  model: ModelNodes;
  handshake: HandshakeNodes;
}

export interface StationNodes {
  vision: VisionSystem;
  systemState: Value;
  storageState: Value;
  storageReason: Value;
  counts: CounterNodes;
  trigger: UAMethod;
  /** The server's own namespace, where a camera added later gets its nodes. */
  ns: Namespace;
  camerasFolder: UAObject;
  cameras: Map<string, CameraNodes>;
}

export interface CameraDescription {
  name: string;
  triggered: boolean;
  model: ModelInfo;
}

const STRING_ARG = (name: string, description: string) => ({ name, description: { text: description }, dataType: DataType.String });
const TRIGGER_OUTPUTS = [
  { name: 'Accepted', description: { text: 'true: the part waits for its frame; one result follows' }, dataType: DataType.Boolean },
  { name: 'Code', description: { text: 'Empty when accepted; else INSPECTD_TRIGGER_INVALID, _UNKNOWN_CAMERA or _DUPLICATE' }, dataType: DataType.String },
  { name: 'Message', description: { text: 'Why it was refused' }, dataType: DataType.String },
];

/** Builds the station's nodes under Objects; handlers are bound by the caller (server.ts). */
export function buildStation(addressSpace: AddressSpace, station: string, version: string, cameras: readonly CameraDescription[]): StationNodes {
  const ns = addressSpace.getOwnNamespace();
  const vision = VisionSystem.create(addressSpace, station, 'inspectd station: an OPC 40100 (Machine Vision) VisionSystemType, simplified');
  const root = vision.root;
  const sid = station;
  variable(ns, root, sid, 'Version', DataType.String, version, 'inspectd version');
  const systemState = variable(ns, root, sid, 'SystemState', DataType.String, 'Preoperational', "OPC 40100 VisionStateMachine's current state: Preoperational, Operational, Halted or Error");
  const storageState = variable(ns, root, sid, 'StorageState', DataType.String, 'ok', 'Verdict log: ok, degraded (writes retried) or failed (verdicts are being lost from the log)');
  const storageReason = variable(ns, root, sid, 'StorageReason', DataType.String, '', "SQLite's message while not ok");
  const counts = new CounterNodes(ns, root, sid);
  const trigger = ns.addMethod(root, {
    browseName: 'Trigger',
    nodeId: `s=${sid}.Trigger`,
    description: 'Inspect this part on this camera now (cameras[].trigger: mqtt or opcua); the same desk as the MQTT trigger',
    inputArguments: [STRING_ARG('Camera', 'Camera name'), STRING_ARG('PartId', 'Part id, 1-200 characters')],
    outputArguments: TRIGGER_OUTPUTS,
  });
  const camerasFolder = folder(ns, root, sid, 'Cameras', 'One object per camera');
  const nodes: StationNodes = { vision, systemState, storageState, storageReason, counts, trigger, ns, camerasFolder, cameras: new Map() };
  for (const cam of cameras) addCamera(nodes, station, cam);
  return nodes;
}

/** One camera's object under Cameras, with its result, counters, model, state and handshake (at start, or added by a live reload). */
export function addCamera(station: StationNodes, stationName: string, cam: CameraDescription): CameraNodes {
  const ns = station.ns;
  const root = station.vision.root;
  const cid = `${stationName}.Cameras.${cam.name}`;
  // An event source of the station: its ResultReady events reach a client subscribed to the station or the Server object.
  const obj = ns.addObject({ componentOf: station.camerasFolder, browseName: cam.name, nodeId: `s=${cid}`, description: `Camera ${cam.name}`, eventSourceOf: root, eventNotifier: 1 });
  const handshake: HandshakeNodes = {
    resultReady: variable(ns, obj, cid, 'ResultReady', DataType.Boolean, false, 'true from a new result until it is acknowledged; false again on an accepted Trigger'),
    resultSeq: variable(ns, obj, cid, 'ResultSeq', DataType.UInt32, 0, 'Seq of the result ResultReady refers to (LastResult.Seq)'),
    resultAcknowledged: variable(ns, obj, cid, 'ResultAcknowledged', DataType.Boolean, false, 'Write true to acknowledge the current result (ResultReady goes false); reset to false by the next result', true),
    trigger: ns.addMethod(obj, {
      browseName: 'Trigger',
      nodeId: `s=${cid}.Trigger`,
      description: 'Inspect this part on this camera now',
      inputArguments: [STRING_ARG('PartId', 'Part id, 1-200 characters')],
      outputArguments: TRIGGER_OUTPUTS,
    }),
    acknowledge: ns.addMethod(obj, {
      browseName: 'AcknowledgeResult',
      nodeId: `s=${cid}.AcknowledgeResult`,
      description: 'Acknowledge the result with this seq (0: the current one); ResultReady goes false',
      inputArguments: [{ name: 'Seq', description: { text: 'ResultSeq being acknowledged, or 0' }, dataType: DataType.UInt32 }],
      outputArguments: [{ name: 'Acknowledged', description: { text: 'false when Seq is not the current result' }, dataType: DataType.Boolean }],
    }),
  };
  const nodes: CameraNodes = {
    object: obj,
    triggered: variable(ns, obj, cid, 'Triggered', DataType.Boolean, cam.triggered, 'true: parts come from triggers (MQTT or OPC UA); false: every frame is a part'),
    state: variable(ns, obj, cid, 'CameraState', DataType.String, 'down', 'up (delivering frames) or down (unplugged, stream lost, never opened)'),
    stateReason: variable(ns, obj, cid, 'CameraStateReason', DataType.String, '', 'Why the camera is down'),
    result: new ResultNodes(ns, obj, cid),
    counts: new CounterNodes(ns, obj, cid),
    model: new ModelNodes(ns, obj, cid, cam.model),
    handshake,
  };
  station.cameras.set(cam.name, nodes);
  return nodes;
}

/**
 * A camera a live reload removed: its object and everything below it leave the address space (a
 * client's monitored items on them stop getting values; a browse no longer finds it).
 */
export function removeCamera(station: StationNodes, camera: string): boolean {
  const n = station.cameras.get(camera);
  if (!n) return false;
  station.cameras.delete(camera);
  station.ns.deleteNode(n.object);
  return true;
}

