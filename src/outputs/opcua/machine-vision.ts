import {
  DataType,
  nodesets,
  promoteToStateMachine,
  StatusCodes,
  Variant,
  VariantArrayType,
  type AddressSpace,
  type ISessionContext,
  type UAEventType,
  type UAObject,
  type UAStateMachineEx,
  type UATransitionEx,
} from 'node-opcua';
import type { VerdictKind, VerdictMessage } from '../../verdict/types.js';

/**
 * The parts of OPC 40100 (OPC UA for Machine Vision, the nodeset node-opcua ships as
 * `Opc.Ua.MachineVision.NodeSet2.xml`, v1.0.0) that inspectd fills in: the station is a
 * `VisionSystemType` instance, its mandatory `VisionStateMachine` follows the daemon
 * (Preoperational → Operational → Halted, Error while verdicts are lost from the log), and every
 * verdict raises a `ResultReadyEventType` event from its camera's object. docs/opcua.md lists what
 * is left out (recipe, configuration and result management, jobs, the state machine's methods).
 */

export const MACHINE_VISION_URI = 'http://opcfoundation.org/UA/MachineVision';

/** The nodesets the server loads: the standard one, then Machine Vision (its namespace comes after the server's own, ns=1). */
export const STATION_NODESETS = [nodesets.standard, nodesets.machineVision];

/** OPC 40100's VisionStateMachine states (its top level; the sub-state machines are optional and not instantiated). */
export type SystemState = 'Preoperational' | 'Operational' | 'Halted' | 'Error';

/**
 * ResultStateDataType (OPC 40100 §12.19) says how processing went, not whether the part is good:
 * 1 Completed, 3 Aborted (stopped before completion: the deadline came first), 4 Failed.
 * The verdict itself is in the event's ResultContent.
 */
const RESULT_STATE: Record<VerdictKind, number> = { PASS: 1, FAIL: 1, TIMEOUT: 3, ERROR: 4 };

export class VisionSystem {
  private constructor(
    readonly root: UAObject,
    private readonly stateMachine: UAStateMachineEx,
    private readonly resultReady: UAEventType,
    private readonly addressSpace: AddressSpace,
    private readonly mv: number,
    private readonly server: UAObject,
  ) {}

  /** The station's object as a VisionSystemType instance under Objects, an event source of the Server object. */
  static create(addressSpace: AddressSpace, station: string, description: string): VisionSystem {
    const mv = addressSpace.getNamespaceIndex(MACHINE_VISION_URI);
    const type = addressSpace.findObjectType('VisionSystemType', mv);
    const eventType = addressSpace.findEventType('ResultReadyEventType', mv);
    if (mv < 0 || !type || !eventType) throw new Error(`the Machine Vision nodeset (${MACHINE_VISION_URI}) is not loaded`);
    const root = type.instantiate({
      browseName: station,
      nodeId: `ns=${addressSpace.getOwnNamespace().index};s=${station}`,
      description,
      organizedBy: addressSpace.rootFolder.objects,
      eventSourceOf: addressSpace.rootFolder.objects.server,
    });
    root.setEventNotifier(1); // SubscribeToEvents: ResultReady events of every camera
    const smNode = root.getComponentByName('VisionStateMachine', mv) as UAObject;
    const sm = promoteToStateMachine(smNode);
    // Halt and Reset are mandatory in the type, but inspectd's state follows the daemon (its config,
    // its storage), not a client: a PLC cannot halt the line's inspection through OPC UA.
    for (const method of ['Halt', 'Reset']) {
      smNode.getMethodByName(method, mv)?.bindMethod(async (_args: Variant[], _context: ISessionContext) => ({ statusCode: StatusCodes.BadNotSupported }));
    }
    const system = new VisionSystem(root, sm, eventType, addressSpace, mv, addressSpace.rootFolder.objects.server);
    system.setState('Preoperational');
    return system;
  }

  setState(state: SystemState): void {
    if (this.stateMachine.getCurrentState()?.endsWith(`:${state}`)) return;
    // Every change here is automatic (the daemon's, no method was called): the type has a method-caused
    // and an ...Auto transition between most pairs of states; take the Auto one.
    this.stateMachine.setState(state, pickAutoTransition);
  }

  /**
   * ResultReadyEventType from the camera's object: the verdict's seq as ResultId, its JSON as
   * ResultContent. Only when a client monitors events where it would reach (the camera, the station
   * or the Server object: node-opcua's monitored items listen there): building one costs this thread
   * 0.2-0.4 ms, twice the rest of a verdict, and a PLC that reads variables asks for none.
   */
  raiseResultReady(camera: UAObject, m: VerdictMessage, json: string): void {
    if (camera.listenerCount('event') + this.root.listenerCount('event') + this.server.listenerCount('event') === 0) return;
    const ext = (dataType: string, fields: Record<string, unknown>) =>
      new Variant({ dataType: DataType.ExtensionObject, value: this.addressSpace.constructExtensionObject(this.addressSpace.findDataType(dataType, this.mv)!, fields) });
    camera.raiseEvent(this.resultReady, {
      message: { dataType: DataType.LocalizedText, value: { text: `${m.camera} seq ${m.seq}: ${m.verdict}` } },
      resultId: ext('ResultIdDataType', { id: String(m.seq) }),
      isPartial: { dataType: DataType.Boolean, value: false },
      resultState: { dataType: DataType.Int32, value: RESULT_STATE[m.verdict] },
      ...(m.partId ? { partId: ext('PartIdDataType', { id: m.partId }) } : {}),
      internalRecipeId: ext('RecipeIdInternalDataType', { id: m.model.name, version: m.model.version }),
      creationTime: { dataType: DataType.DateTime, value: new Date(m.decidedAt) },
      processingTimes: ext('ProcessingTimesDataType', { startTime: new Date(m.capturedAt), endTime: new Date(m.decidedAt), processingDuration: m.latencyMs }),
      resultContent: new Variant({ dataType: DataType.String, arrayType: VariantArrayType.Array, value: [json] }),
    });
  }
}

function pickAutoTransition(transitions: UATransitionEx[]): UATransitionEx | null {
  return transitions.find((t) => t.browseName.name?.endsWith('Auto')) ?? transitions[0] ?? null;
}
