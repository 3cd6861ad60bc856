import { DataType, promoteToStateMachine, StatusCodes, type CallMethodResultOptions, type ISessionContext, type UAMethod, type UAObject, type UAStateMachineEx, type UATransitionEx, type Variant } from 'node-opcua';
import type { Logger } from 'pino';
import type { TriggerRejection } from '../../source/trigger.js';
import type { ModelInfo } from '../../verdict/types.js';
import { CONTINUOUS_JOB, jobIdOf, type VisionSystem } from './machine-vision.js';
import { idOf } from './method-answers.js';

/**
 * OPC 40100's AutomaticModeStateMachine (under the VisionStateMachine's Operational) over what the
 * line does: it runs continuously (ContinuousExecution: free-running cameras judge every frame,
 * triggered ones every part announced) unless a client's Stop or Abort paused it (Ready: nothing
 * judged, triggers refused, line-pause.ts), and StartContinuous resumes it. StartSingleJob is one
 * part: a trigger with its PartId on a triggered camera (the job's result is that part's verdict),
 * taken while the line runs; the machine stays in ContinuousExecution (a triggered camera waits for
 * parts either way). docs/opcua.md lists where this departs from 40100.
 */

export type AutomaticState = 'Ready' | 'ContinuousExecution';

export interface JobLine {
  /** Asks the trigger desk (main thread); undefined: accepted. */
  trigger: (request: { camera: string; partId: string }) => Promise<TriggerRejection | undefined>;
  /** Pauses ('halt') or resumes ('reset') the line (main thread); whether it changed. */
  line: (action: 'halt' | 'reset') => Promise<boolean>;
  /** The line runs and is not Halted (the top-level state is Operational or Error). */
  operational: () => boolean;
  /** The triggered cameras now, with their models. */
  triggered: () => ReadonlyMap<string, ModelInfo>;
  log: Logger;
}

const OK = (extra: { dataType: DataType; value: unknown }[] = []): CallMethodResultOptions => ({ statusCode: StatusCodes.Good, outputArguments: [...extra, { dataType: DataType.Int32, value: 0 }] });

export class JobControl {
  /** The line paused by this machine's Stop or Abort (Ready), not Halted: the station shows Operational. */
  stopped = false;
  private readonly sm: UAStateMachineEx;

  constructor(
    private readonly vision: VisionSystem,
    node: UAObject,
    private readonly deps: JobLine,
  ) {
    this.sm = promoteToStateMachine(node);
    const bind = (name: string, handler: (args: Variant[]) => Promise<CallMethodResultOptions>) =>
      (node.getMethodByName(name, vision.mv) as UAMethod | null)?.bindMethod(async (args: Variant[], _context: ISessionContext) => handler(args));
    bind('StartSingleJob', (args) => this.singleJob(args));
    bind('StartContinuous', () => this.run('StartContinuous'));
    bind('Stop', (args) => this.halt('Stop', args));
    bind('Abort', (args) => this.halt('Abort', args));
    this.show('Ready');
  }

  /** The machine as the line is now (after a pause or resume by any channel, or the start). */
  show(state: AutomaticState, cause?: 'Stop' | 'Abort'): void {
    if (this.sm.getCurrentState()?.endsWith(`:${state}`)) return;
    this.sm.setState(state, (ts: UATransitionEx[]) => ts.find((t) => t.browseName.name?.endsWith(cause ?? 'Auto')) ?? ts[0] ?? null);
  }

  private async singleJob(args: Variant[]): Promise<CallMethodResultOptions> {
    if (this.stopped || !this.deps.operational()) return { statusCode: StatusCodes.BadInvalidState };
    const partId = idOf(args[1]);
    const recipe = idOf(args[2]);
    const triggered = this.deps.triggered();
    const named = cameraParameter(args[4]);
    const camera = named ?? (triggered.size === 1 ? [...triggered.keys()][0]! : undefined);
    const model = camera === undefined ? undefined : triggered.get(camera);
    // No part, no (single) triggered camera, or a recipe this camera does not run: a job cannot switch models.
    if (!partId || !camera || !model || (recipe && recipe !== model.name)) return { statusCode: StatusCodes.BadInvalidArgument };
    const rejection = await this.deps.trigger({ camera, partId });
    this.deps.log.info({ event: 'opcua.job', method: 'StartSingleJob', camera, partId, refused: rejection?.code }, rejection ? 'opc ua: StartSingleJob refused' : 'opc ua: StartSingleJob: the part waits for its frame');
    if (rejection) return { statusCode: rejection.code === 'INSPECTD_TRIGGER_PAUSED' || rejection.code === 'INSPECTD_TRIGGER_INVALID' ? StatusCodes.BadInvalidState : StatusCodes.BadInvalidArgument };
    return OK([{ dataType: DataType.ExtensionObject, value: this.vision.structure('JobIdDataType', { id: jobIdOf(camera, partId) }).value }]);
  }

  /** Stop and Abort: the line pauses (frames in flight still get their verdicts), Ready. */
  private async halt(method: 'Stop' | 'Abort', args: Variant[]): Promise<CallMethodResultOptions> {
    if (this.stopped || !this.deps.operational()) return { statusCode: StatusCodes.BadInvalidState };
    // Set first: the pause's own news (setPaused) arrives before the answer and must not read as a Halt.
    this.stopped = true;
    if (!(await this.deps.line('halt'))) {
      this.stopped = false;
      return { statusCode: StatusCodes.BadInvalidState };
    }
    this.deps.log.info({ event: 'opcua.job', method, cause: Number(args[0]?.value ?? 0), description: String(args[1]?.value ?? '') }, `opc ua: ${method}: the line paused (Ready)`);
    this.show('Ready', method);
    return OK();
  }

  private async run(method: 'StartContinuous'): Promise<CallMethodResultOptions> {
    if (!this.stopped) return { statusCode: StatusCodes.BadInvalidState };
    this.stopped = false;
    // false: resumed meanwhile by another channel; it runs either way.
    await this.deps.line('reset');
    this.deps.log.info({ event: 'opcua.job', method }, 'opc ua: StartContinuous: the line resumed');
    this.show('ContinuousExecution');
    return OK([{ dataType: DataType.ExtensionObject, value: this.vision.structure('JobIdDataType', { id: CONTINUOUS_JOB }).value }]);
  }
}

/** StartSingleJob's Parameters: the first one, a String, names the camera (needed only with several triggered cameras). */
function cameraParameter(arg: Variant | undefined): string | undefined {
  const list = arg?.value as unknown[] | null | undefined;
  const first = Array.isArray(list) ? list[0] : undefined;
  const value = first && typeof first === 'object' && 'value' in first ? (first as { value: unknown }).value : first;
  return typeof value === 'string' && value !== '' ? value : undefined;
}
