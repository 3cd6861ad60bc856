import { DataType, StatusCodes, Variant, VariantArrayType, type CallMethodResultOptions, type ISessionContext, type UAMethod, type UAObject } from 'node-opcua';
import type { HandleDesk } from './handles.js';

/**
 * What OPC 40100's management methods share: reading their id and Timeout inputs, binding them in
 * the Machine Vision namespace, and the shapes of their answers (Error alone; a page of a list).
 */

export type MethodHandler = (args: Variant[]) => Promise<CallMethodResultOptions> | CallMethodResultOptions;

/** Binds each handler to the method of that name on the node (40100's namespace mv); one the node lacks is skipped. */
export function bindMethods(node: UAObject, mv: number, handlers: Record<string, MethodHandler>): void {
  for (const [name, handler] of Object.entries(handlers)) {
    (node.getMethodByName(name, mv) as UAMethod | null)?.bindMethod(async (args: Variant[], _context: ISessionContext) => handler(args));
  }
}

/** The `Id` of one of 40100's id structures (ResultIdDataType, PartIdDataType...), or '' when none was given. */
export function idOf(arg: Variant | undefined): string {
  const value = arg?.value as { id?: unknown } | null | undefined;
  return typeof value?.id === 'string' ? value.id : '';
}

/** The Timeout argument (ms the client will need the data; < 0: no estimate), -1 when not given. */
export function timeoutOf(arg: Variant | undefined): number {
  return typeof arg?.value === 'number' ? arg.value : -1;
}

/** 40100's Error output alone: 0 OK, negative values inspectd's own. */
export function errorAnswer(value: number): CallMethodResultOptions {
  return { statusCode: StatusCodes.Good, outputArguments: [{ dataType: DataType.Int32, value }] };
}

/** Release...Handle: Error 0 for a handle held, -1 for one not (released already, or lapsed). */
export function releaseAnswer(handles: HandleDesk, args: Variant[]): CallMethodResultOptions {
  return errorAnswer(handles.release(Number(args[0]?.value ?? 0)) ? 0 : -1);
}

/**
 * A Get...List answer: IsComplete, ResultCount, a new handle (for the Timeout hint), the page of
 * structures from StartIndex (MaxResults 0: all), Error 0.
 */
export function pageAnswer<T>(all: readonly T[], page: { max: number; start: number; handle: number }, encode: (item: T) => unknown): CallMethodResultOptions {
  const shown = all.slice(page.start, page.max === 0 ? undefined : page.start + page.max);
  return {
    statusCode: StatusCodes.Good,
    outputArguments: [
      { dataType: DataType.Boolean, value: page.start + shown.length >= all.length },
      { dataType: DataType.UInt32, value: shown.length },
      { dataType: DataType.UInt32, value: page.handle },
      new Variant({ dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: shown.map(encode) }),
      { dataType: DataType.Int32, value: 0 },
    ],
  };
}
