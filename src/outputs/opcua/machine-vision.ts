import {
  DataType,
  nodesets,
  promoteToStateMachine,
  StatusCodes,
  type StatusCode,
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
 * verdict raises a `ResultReadyEventType` event from its camera's object; its ResultManagement
 * (result-management.ts) answers from the verdict log, and Halt / Reset pause and resume the line.
 * RecipeManagement, ConfigurationManagement and the AutomaticModeStateMachine (jobs) are there too,
 * each in its own module; docs/opcua.md lists where they depart from 40100.
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
export const RESULT_STATE: Record<VerdictKind, number> = { PASS: 1, FAIL: 1, TIMEOUT: 3, ERROR: 4 };

/** What Halt and Reset ask of the daemon (the line's pause and resume): resolves whether it did. */
export type LineControl = (action: 'halt' | 'reset') => Promise<boolean>;

export class VisionSystem {
  /** Bound by the server (server.ts): Halt and Reset go to the daemon's line pause through it. */
  /** Whether a camera takes triggers now (set by server.ts): its parts' results belong to single jobs (jobIdOf). */
  triggeredCamera: (camera: string) => boolean = () => false;
  control: ((action: 'halt' | 'reset', why: { cause: number; description: string }) => Promise<StatusCode>) | undefined;

  private constructor(
    readonly root: UAObject,
    /** OPC 40100's optional ResultManagement object (its methods are bound in result-management.ts). */
    readonly resultManagement: UAObject,
    /** The optional RecipeManagement, ConfigurationManagement and AutomaticModeStateMachine (recipe-management.ts, configuration-management.ts, jobs.ts). */
    readonly optional: { recipes: UAObject; configurations: UAObject; automaticMode: UAObject },
    private readonly stateMachine: UAStateMachineEx,
    private readonly resultReady: UAEventType,
    private readonly addressSpace: AddressSpace,
    readonly mv: number,
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
      // The optional Release...Handle methods too (handles.ts); the optional Add/Remove methods are left out: recipes and configurations come from the config file.
      optionals: [
        'ResultManagement.ReleaseResultHandle',
        'RecipeManagement.ReleaseRecipeHandle',
        'ConfigurationManagement.ReleaseConfigurationHandle',
        'VisionStateMachine.AutomaticModeStateMachine',
      ],
    });
    root.setEventNotifier(1); // SubscribeToEvents: ResultReady events of every camera
    const smNode = root.getComponentByName('VisionStateMachine', mv) as UAObject;
    const sm = promoteToStateMachine(smNode);
    const part = (parent: UAObject, name: string) => {
      const node = parent.getComponentByName(name, mv) as UAObject | null;
      if (!node) throw new Error(`the Machine Vision nodeset has no ${name} in VisionSystemType`);
      return node;
    };
    const optional = { recipes: part(root, 'RecipeManagement'), configurations: part(root, 'ConfigurationManagement'), automaticMode: part(smNode, 'AutomaticModeStateMachine') };
    const system = new VisionSystem(root, part(root, 'ResultManagement'), optional, sm, eventType, addressSpace, mv, addressSpace.rootFolder.objects.server);
    // Halt and Reset: the line's pause and resume (docs/opcua.md says where this departs from OPC 40100).
    // Their inputs, Cause (Int32) and CauseDescription, are logged; their output is Error (0: done).
    for (const [method, action] of [['Halt', 'halt'], ['Reset', 'reset']] as const) {
      smNode.getMethodByName(method, mv)?.bindMethod(async (args: Variant[], _context: ISessionContext) => {
        const statusCode = system.control ? await system.control(action, { cause: Number(args[0]?.value ?? 0), description: String(args[1]?.value ?? '') }) : StatusCodes.BadNotSupported;
        return statusCode === StatusCodes.Good ? { statusCode, outputArguments: [{ dataType: DataType.Int32, value: 0 }] } : { statusCode };
      });
    }
    system.setState('Preoperational');
    return system;
  }

  /**
   * The type has a method-caused and an ...Auto transition between most pairs of states: a change
   * the daemon made itself takes the Auto one, one a Halt or Reset call caused the other.
   */
  setState(state: SystemState, byMethod = false): void {
    if (this.stateMachine.getCurrentState()?.endsWith(`:${state}`)) return;
    this.stateMachine.setState(state, byMethod ? pickMethodTransition : pickAutoTransition);
  }

  /** A Machine Vision structure (ResultIdDataType, ResultDataType...) as a Variant. */
  structure(dataType: string, fields: Record<string, unknown>): Variant {
    return new Variant({ dataType: DataType.ExtensionObject, value: this.addressSpace.constructExtensionObject(this.addressSpace.findDataType(dataType, this.mv)!, fields) });
  }

  /**
   * A verdict as OPC 40100's ResultDataType (GetResultById, GetResultListFiltered): the seq as
   * ResultId, the model as the internal recipe, the station as the internal configuration (it has
   * no other), its job (jobIdOf), and the verdict's JSON as ResultContent, as in the ResultReady event.
   */
  resultData(m: VerdictMessage): Record<string, unknown> {
    const field = (dataType: string, fields: Record<string, unknown>) => this.structure(dataType, fields).value as unknown;
    return {
      resultId: field('ResultIdDataType', { id: String(m.seq) }),
      isPartial: false,
      resultState: RESULT_STATE[m.verdict],
      ...(m.partId ? { partId: field('PartIdDataType', { id: m.partId }) } : {}),
      internalRecipeId: field('RecipeIdInternalDataType', { id: m.model.name, version: m.model.version }),
      internalConfigurationId: field('ConfigurationIdDataType', { id: m.station }),
      jobId: field('JobIdDataType', { id: jobIdOf(m.camera, m.partId, this.triggeredCamera(m.camera)) }),
      creationTime: new Date(m.decidedAt),
      processingTimes: field('ProcessingTimesDataType', { startTime: new Date(m.capturedAt), endTime: new Date(m.decidedAt), processingDuration: m.latencyMs }),
      resultContent: [new Variant({ dataType: DataType.String, value: JSON.stringify(m) })],
    };
  }

  /**
   * ResultReadyEventType from the camera's object: the verdict's seq as ResultId, its JSON as
   * ResultContent. Only when a client monitors events where it would reach (the camera, the station
   * or the Server object: node-opcua's monitored items listen there): building one costs this thread
   * 0.2-0.4 ms, twice the rest of a verdict, and a PLC that reads variables asks for none.
   */
  raiseResultReady(camera: UAObject, m: VerdictMessage, json: string): void {
    if (camera.listenerCount('event') + this.root.listenerCount('event') + this.server.listenerCount('event') === 0) return;
    const ext = (dataType: string, fields: Record<string, unknown>) => this.structure(dataType, fields);
    camera.raiseEvent(this.resultReady, {
      message: { dataType: DataType.LocalizedText, value: { text: `${m.camera} seq ${m.seq}: ${m.verdict}` } },
      resultId: ext('ResultIdDataType', { id: String(m.seq) }),
      isPartial: { dataType: DataType.Boolean, value: false },
      resultState: { dataType: DataType.Int32, value: RESULT_STATE[m.verdict] },
      ...(m.partId ? { partId: ext('PartIdDataType', { id: m.partId }) } : {}),
      internalRecipeId: ext('RecipeIdInternalDataType', { id: m.model.name, version: m.model.version }),
      jobId: ext('JobIdDataType', { id: jobIdOf(m.camera, m.partId, this.triggeredCamera(m.camera)) }),
      creationTime: { dataType: DataType.DateTime, value: new Date(m.decidedAt) },
      processingTimes: ext('ProcessingTimesDataType', { startTime: new Date(m.capturedAt), endTime: new Date(m.decidedAt), processingDuration: m.latencyMs }),
      resultContent: new Variant({ dataType: DataType.String, arrayType: VariantArrayType.Array, value: [json] }),
    });
  }
}

/** The JobId StartContinuous answers, and that of every free-running frame's result. */
export const CONTINUOUS_JOB = 'continuous';

/**
 * OPC 40100's JobId of a result. A triggered camera's part (its PartId given by StartSingleJob, the
 * Trigger method or MQTT: each is one single job, the same desk) belongs to the job
 * `{camera}/{partId}`, the JobId StartSingleJob answers for it; a free-running camera's frame
 * belongs to the continuous execution, a PartId of its own (`partId: frame`) or not. From the
 * verdict and the camera's mode, so a result read back from the log has the JobId its event had
 * (unless a reload changed the camera's mode since).
 */
export function jobIdOf(camera: string, partId: string | null | undefined, triggered = true): string {
  return triggered && partId ? `${camera}/${partId}` : CONTINUOUS_JOB;
}

function pickAutoTransition(transitions: UATransitionEx[]): UATransitionEx | null {
  return transitions.find((t) => t.browseName.name?.endsWith('Auto')) ?? transitions[0] ?? null;
}

function pickMethodTransition(transitions: UATransitionEx[]): UATransitionEx | null {
  return transitions.find((t) => !t.browseName.name?.endsWith('Auto')) ?? transitions[0] ?? null;
}
