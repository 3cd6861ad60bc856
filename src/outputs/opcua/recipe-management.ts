import { StatusCodes, type CallMethodResultOptions, type UAObject, type Variant } from 'node-opcua';
import type { ModelInfo } from '../../verdict/types.js';
import { HandleDesk } from './handles.js';
import type { VisionSystem } from './machine-vision.js';
import { bindMethods, idOf, pageAnswer, releaseAnswer, timeoutOf } from './method-answers.js';

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

/** The models in use now, by camera (the server keeps it: start, reloads' swaps, cameras added and removed). */
export type ModelsInUse = () => ReadonlyMap<string, ModelInfo>;

export class RecipeManagement {
  private readonly handles = new HandleDesk();

  constructor(
    private readonly vision: VisionSystem,
    node: UAObject,
    private readonly models: ModelsInUse,
  ) {
    const notSupported = () => ({ statusCode: StatusCodes.BadNotSupported });
    bindMethods(node, vision.mv, {
      GetRecipeListFiltered: (args) => this.listFiltered(args),
      ReleaseRecipeHandle: (args) => releaseAnswer(this.handles, args),
      // Mandatory in 40100; a model is loaded or unloaded only by a config change (the optional AddRecipe and RemoveRecipe are left out).
      PrepareRecipe: notSupported,
      UnprepareRecipe: notSupported,
    });
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
    const all = prepared === IS_PREPARED.no ? [] : this.recipes().filter((r) => !external || r.model.name === external);
    const page = { max: Number(args[3]?.value ?? 0), start: Number(args[4]?.value ?? 0), handle: this.handles.issue(timeoutOf(args[5])) };
    return pageAnswer(all, page, (r) =>
      this.vision.structure('RecipeIdInternalDataType', { id: r.model.name, version: r.model.version, description: { text: `prepared on ${r.cameras.join(', ')} (${r.model.backend}, ${r.model.precision})` } }).value,
    );
  }
}
