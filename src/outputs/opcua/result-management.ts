import { DataType, StatusCodes, Variant, VariantArrayType, type CallMethodResultOptions, type ISessionContext, type UAMethod } from 'node-opcua';
import type { Logger } from 'pino';
import { rowToMessage, VerdictStore } from '../../record/store.js';
import type { VerdictKind } from '../../verdict/types.js';
import type { VisionSystem } from './machine-vision.js';

/**
 * OPC 40100's ResultManagement on the station, answered from the verdict log: GetResultById (a
 * verdict by its seq, the ResultId of the ResultReady event) and GetResultListFiltered (newest first,
 * by ResultState and PartId). The log is read here, on the server's thread, through a read-only
 * connection of its own (WAL: it never waits for the verdict writer, nor the writer for it), so a
 * client's query never takes the frame path's time. Results are final once in the log, so no handle
 * holds anything: ReleaseResultHandle has nothing to release, GetResultComponentsById is not offered.
 */

/** OPC 40100's Error output: 0 is success; negative values are the application's own. */
const ERROR = { ok: 0, notInLog: -1, logUnavailable: -2 } as const;
/** Most results one GetResultListFiltered answers (MaxResults 0 means this too). */
const LIST_MAX = 1000;

/** ResultStateDataType as a filter: the verdicts each state stands for (machine-vision.ts's RESULT_STATE, inverted). */
const VERDICTS_BY_STATE: Record<number, readonly VerdictKind[]> = { 1: ['PASS', 'FAIL'], 3: ['TIMEOUT'], 4: ['ERROR'] };

/** GetResultListFiltered's inputs that inspectd does not filter on: a client giving one gets BadNotSupported, not a silently wider list. */
const UNSUPPORTED_FILTERS: Readonly<Record<number, string>> = { 1: 'MeasId', 3: 'ExternalRecipeId', 4: 'InternalRecipeId', 5: 'ExternalConfigurationId', 6: 'InternalConfigurationId', 7: 'ProductId', 8: 'JobId' };

export class ResultManagement {
  private store: VerdictStore | undefined;

  constructor(
    private readonly vision: VisionSystem,
    private readonly station: string,
    private readonly verdictLog: string,
    private readonly log: Logger,
  ) {
    const method = (name: string) => vision.resultManagement.getMethodByName(name, vision.mv) as UAMethod | null;
    const bind = (name: string, handler: (args: Variant[]) => CallMethodResultOptions) =>
      method(name)?.bindMethod(async (args: Variant[], _context: ISessionContext) => handler(args));
    bind('GetResultById', (args) => this.byId(args));
    bind('GetResultListFiltered', (args) => this.listFiltered(args));
    bind('ReleaseResultHandle', () => ({ statusCode: StatusCodes.Good }));
    bind('GetResultComponentsById', () => ({ statusCode: StatusCodes.BadNotImplemented }));
  }

  /** The verdict log, opened on first use: it may not exist yet when the server starts (a bench without a daemon). */
  private reader(): VerdictStore | undefined {
    if (this.store) return this.store;
    try {
      this.store = new VerdictStore({ path: this.verdictLog, readonly: true });
    } catch (err) {
      this.log.warn({ code: 'INSPECTD_STORE', err: (err as Error).message }, 'opc ua: the verdict log cannot be read for ResultManagement');
    }
    return this.store;
  }

  private byId(args: Variant[]): CallMethodResultOptions {
    const id = idOf(args[0]);
    if (!id || !/^[1-9]\d{0,15}$/.test(id)) return { statusCode: StatusCodes.BadInvalidArgument };
    const store = this.reader();
    const row = store?.get(this.station, Number(id));
    const error = !store ? ERROR.logUnavailable : row ? ERROR.ok : ERROR.notInLog;
    return {
      statusCode: StatusCodes.Good,
      outputArguments: [
        { dataType: DataType.UInt32, value: row ? row.seq : 0 },
        // No such result: an empty ResultDataType (ResultId empty), Error says why.
        this.vision.structure('ResultDataType', row ? this.vision.resultData(rowToMessage(row)) : {}),
        { dataType: DataType.Int32, value: error },
      ],
    };
  }

  private listFiltered(args: Variant[]): CallMethodResultOptions {
    const resultState = Number(args[0]?.value ?? 0);
    for (const [i, name] of Object.entries(UNSUPPORTED_FILTERS)) {
      if (!idOf(args[Number(i)])) continue;
      this.log.debug({ filter: name }, 'opc ua: GetResultListFiltered asked for a filter inspectd does not offer');
      return { statusCode: StatusCodes.BadNotSupported };
    }
    if (resultState !== 0 && !VERDICTS_BY_STATE[resultState]) return { statusCode: StatusCodes.BadInvalidArgument };
    const partId = idOf(args[2]);
    const maxResults = Number(args[9]?.value ?? 0);
    const startIndex = Number(args[10]?.value ?? 0);
    const limit = maxResults === 0 ? LIST_MAX : Math.min(maxResults, LIST_MAX);
    const store = this.reader();
    // One more than asked for: whether the list is complete.
    const rows = store?.recent({ station: this.station, limit: limit + 1, offset: startIndex, verdicts: resultState === 0 ? [] : VERDICTS_BY_STATE[resultState]!, ...(partId ? { partId } : {}) }) ?? [];
    const shown = rows.slice(0, limit);
    return {
      statusCode: StatusCodes.Good,
      outputArguments: [
        { dataType: DataType.Boolean, value: rows.length <= limit },
        { dataType: DataType.UInt32, value: shown.length },
        { dataType: DataType.UInt32, value: 0 },
        new Variant({ dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: shown.map((r) => this.vision.structure('ResultDataType', this.vision.resultData(rowToMessage(r))).value) }),
        { dataType: DataType.Int32, value: store ? ERROR.ok : ERROR.logUnavailable },
      ],
    };
  }

  close(): void {
    this.store?.close();
    this.store = undefined;
  }
}

/** The `Id` of one of OPC 40100's id structures (ResultIdDataType, PartIdDataType...), or '' when none was given. */
function idOf(arg: Variant | undefined): string {
  const value = arg?.value as { id?: unknown } | null | undefined;
  return typeof value?.id === 'string' ? value.id : '';
}
