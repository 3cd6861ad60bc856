import { DataType, StatusCodes, Variant, VariantArrayType, type CallMethodResultOptions, type ISessionContext, type UAMethod, type UAObject } from 'node-opcua';
import type { ModelInfo } from '../../verdict/types.js';
import { HandleDesk } from './handles.js';
import type { VisionSystem } from './machine-vision.js';
import { idOf, timeoutOf } from './result-management.js';

/**
 * OPC 40100's RecipeManagement, read-only: a recipe is a model the station's cameras run (the
 * InternalRecipeId of every result: Id = the model's name, Version its version), each prepared
 * (loaded) on the cameras its Description names. inspectd has no other store of recipes: a camera
 * runs the model its config names, and switching is a config change (edit the file, then
 * ActivateConfiguration or systemctl reload: the new model is loaded beside the old and swapped).
 * So PrepareRecipe and UnprepareRecipe are BadNotSupported, and the optional AddRecipe and RemoveRecipe are not offered.
 */

/** TriStateBooleanDataType, GetRecipeListFiltered's IsPrepared filter. */
const IS_PREPARED = { no: 0, yes: 1, dontCare: 2 } as const;
const ERROR = { ok: 0, unknownHandle: -1 } as const;

/** The models in use now, by camera (the server keeps it: start, reloads' swaps, cameras added and removed). */
export type ModelsInUse = () => ReadonlyMap<string, ModelInfo>;

export class RecipeManagement {
  private readonly handles = new HandleDesk();

  constructor(
    private readonly vision: VisionSystem,
    node: UAObject,
    private readonly models: ModelsInUse,
  ) {
    const bind = (name: string, handler: (args: Variant[]) => CallMethodResultOptions) =>
      (node.getMethodByName(name, vision.mv) as UAMethod | null)?.bindMethod(async (args: Variant[], _context: ISessionContext) => handler(args));
    bind('GetRecipeListFiltered', (args) => this.listFiltered(args));
    bind('ReleaseRecipeHandle', (args) => ({
      statusCode: StatusCodes.Good,
      outputArguments: [{ dataType: DataType.Int32, value: this.handles.release(Number(args[0]?.value ?? 0)) ? ERROR.ok : ERROR.unknownHandle }],
    }));
    // Mandatory in 40100; a model is loaded or unloaded only by a config change (the optional AddRecipe and RemoveRecipe are left out).
    for (const name of ['PrepareRecipe', 'UnprepareRecipe']) bind(name, () => ({ statusCode: StatusCodes.BadNotSupported }));
  }

  /** Each model in use once (name@version), with the cameras that run it, in camera order. */
  private recipes(): { model: ModelInfo; cameras: string[] }[] {
    const byKey = new Map<string, { model: ModelInfo; cameras: string[] }>();
    for (const [camera, model] of this.models()) {
      const key = `${model.name}@${model.version}`;
      const r = byKey.get(key) ?? { model, cameras: [] };
      r.cameras.push(camera);
      byKey.set(key, r);
    }
    return [...byKey.values()];
  }

  /**
   * ExternalId filters by model name (an external recipe id is what the plant calls the recipe: here,
   * the model's name in the config); ProductId is BadNotSupported (inspectd knows no products);
   * IsPrepared FALSE lists nothing, since every recipe listed is loaded.
   */
  private listFiltered(args: Variant[]): CallMethodResultOptions {
    const external = idOf(args[0]);
    if (idOf(args[1])) return { statusCode: StatusCodes.BadNotSupported };
    const prepared = Number(args[2]?.value ?? IS_PREPARED.dontCare);
    if (!Object.values(IS_PREPARED).includes(prepared as 0)) return { statusCode: StatusCodes.BadInvalidArgument };
    const max = Number(args[3]?.value ?? 0);
    const start = Number(args[4]?.value ?? 0);
    const all = prepared === IS_PREPARED.no ? [] : this.recipes().filter((r) => !external || r.model.name === external);
    const shown = all.slice(start, max === 0 ? undefined : start + max);
    return {
      statusCode: StatusCodes.Good,
      outputArguments: [
        { dataType: DataType.Boolean, value: start + shown.length >= all.length },
        { dataType: DataType.UInt32, value: shown.length },
        { dataType: DataType.UInt32, value: this.handles.issue(timeoutOf(args[5])) },
        new Variant({
          dataType: DataType.ExtensionObject,
          arrayType: VariantArrayType.Array,
          value: shown.map((r) => this.vision.structure('RecipeIdInternalDataType', { id: r.model.name, version: r.model.version, description: { text: `prepared on ${r.cameras.join(', ')} (${r.model.backend}, ${r.model.precision})` } }).value),
        }),
        { dataType: DataType.Int32, value: ERROR.ok },
      ],
    };
  }
}
