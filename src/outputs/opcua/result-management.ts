import { DataType, StatusCodes, Variant, VariantArrayType, type CallMethodResultOptions } from 'node-opcua';
import type { Logger } from 'pino';
import { ResultLog, rowToMessage } from '../../record/result-queries.js';
import type { VerdictRow } from '../../record/store.js';
import type { VerdictKind } from '../../verdict/types.js';
import { HandleDesk } from './handles.js';
import { bindMethods, idOf, releaseAnswer, timeoutOf } from './method-answers.js';
import type { VisionSystem } from './machine-vision.js';

/**
 * OPC 40100's ResultManagement on the station, answered from the verdict log: GetResultById (a
 * verdict by its seq, the ResultId of the ResultReady event) and GetResultListFiltered (newest first,
 * by ResultState and PartId). The log is read here, on the server's thread, through a read-only
 * connection of its own (WAL: it never waits for the verdict writer, nor the writer for it), so a
 * client's query never takes the frame path's time. GetResultComponentsById gives GetResultById's
 * result as separate outputs. Each call gets its own handle (handles.ts), held for the client's
 * Timeout hint or until ReleaseResultHandle; results are final once in the log, so it pins nothing.
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
  private store: ResultLog | undefined;
  private readonly handles = new HandleDesk();

  constructor(
    private readonly vision: VisionSystem,
    private readonly station: string,
    private readonly verdictLog: string,
    private readonly log: Logger,
  ) {
    bindMethods(vision.resultManagement, vision.mv, {
      GetResultById: (args) => this.byId(args),
      GetResultListFiltered: (args) => this.listFiltered(args),
      GetResultComponentsById: (args) => this.componentsById(args),
      ReleaseResultHandle: (args) => releaseAnswer(this.handles, args),
    });
  }

  /** The verdict log, opened on first use: it may not exist yet when the server starts (a bench without a daemon). */
  private reader(): ResultLog | undefined {
    if (this.store) return this.store;
    try {
      this.store = new ResultLog(this.verdictLog);
    } catch (err) {
      this.log.warn({ code: 'INSPECTD_STORE', err: (err as Error).message }, 'opc ua: the verdict log cannot be read for ResultManagement');
    }
    return this.store;
  }

  /** One result by its ResultId (the seq), or why not: undefined is a ResultId that is no seq (BadInvalidArgument). */
  private lookUp(args: Variant[]): { row: VerdictRow | undefined; error: number; handle: number } | undefined {
    const id = idOf(args[0]);
    if (!id || !/^[1-9]\d{0,15}$/.test(id)) return undefined;
    const store = this.reader();
    const row = store?.byId(this.station, Number(id));
    return { row, error: !store ? ERROR.logUnavailable : row ? ERROR.ok : ERROR.notInLog, handle: this.handles.issue(timeoutOf(args[1])) };
  }

  private byId(args: Variant[]): CallMethodResultOptions {
    const found = this.lookUp(args);
    if (!found) return { statusCode: StatusCodes.BadInvalidArgument };
    const { row, error, handle } = found;
    return {
      statusCode: StatusCodes.Good,
      outputArguments: [
        { dataType: DataType.UInt32, value: handle },
        // No such result: an empty ResultDataType (ResultId empty), Error says why.
        this.vision.structure('ResultDataType', row ? this.vision.resultData(rowToMessage(row)) : {}),
        { dataType: DataType.Int32, value: error },
      ],
    };
  }

  /** GetResultById's ResultDataType, one output per field (40100 §7.10.2.2), in the method's order. */
  private componentsById(args: Variant[]): CallMethodResultOptions {
    const found = this.lookUp(args);
    if (!found) return { statusCode: StatusCodes.BadInvalidArgument };
    const { row, error, handle } = found;
    const r = row ? this.vision.resultData(rowToMessage(row)) : {};
    const ext = (dataType: string, key: string, empty: Record<string, unknown> = { id: '' }) =>
      new Variant({ dataType: DataType.ExtensionObject, value: (r[key] as object | undefined) ?? this.vision.structure(dataType, empty).value });
    const bool = (value: boolean) => new Variant({ dataType: DataType.Boolean, value });
    const times = row ? r.processingTimes : this.vision.structure('ProcessingTimesDataType', {}).value;
    return {
      statusCode: StatusCodes.Good,
      outputArguments: [
        bool(false), // HasTransferableDataOnFile: the verdict is all in ResultContent
        new Variant({ dataType: DataType.UInt32, value: handle }),
        bool(false), // IsPartial
        bool(false), // IsSimulated
        new Variant({ dataType: DataType.Int32, value: (r.resultState as number | undefined) ?? 0 }),
        ext('MeasIdDataType', 'measId'),
        ext('PartIdDataType', 'partId'),
        ext('RecipeIdExternalDataType', 'externalRecipeId'),
        ext('RecipeIdInternalDataType', 'internalRecipeId'),
        ext('ProductIdDataType', 'productId'),
        ext('ConfigurationIdDataType', 'externalConfigurationId'),
        ext('ConfigurationIdDataType', 'internalConfigurationId'),
        ext('JobIdDataType', 'jobId'),
        new Variant({ dataType: DataType.DateTime, value: (r.creationTime as Date | undefined) ?? null }),
        new Variant({ dataType: DataType.ExtensionObject, value: times }),
        new Variant({ dataType: DataType.Variant, arrayType: VariantArrayType.Array, value: (r.resultContent as Variant[] | undefined) ?? [] }),
        new Variant({ dataType: DataType.Int32, value: error }),
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
    const rows = store?.list({ station: this.station, limit: limit + 1, offset: startIndex, verdicts: resultState === 0 ? [] : VERDICTS_BY_STATE[resultState]!, ...(partId ? { partId } : {}) }) ?? [];
    const shown = rows.slice(0, limit);
    return {
      statusCode: StatusCodes.Good,
      outputArguments: [
        { dataType: DataType.Boolean, value: rows.length <= limit },
        { dataType: DataType.UInt32, value: shown.length },
        { dataType: DataType.UInt32, value: this.handles.issue(timeoutOf(args[11])) },
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
