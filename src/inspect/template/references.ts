import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { TemplateReferenceError } from '../../errors.js';
import { opencv, type Mat } from '../../preprocess/opencv.js';
import { readImageFile } from '../../source/read-image.js';
import type { Frame } from '../../source/frame.js';
import { describeReference, type Reference, type RegistrationSettings } from './registration.js';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.pgm']);

/**
 * A camera's golden references, keyed by recipe (part type). A frame is compared with the
 * reference of its own recipe when the line says which (`frame.recipe`), else the camera's
 * configured recipe, else the only reference there is. References are grey, with their features
 * computed once here, not per frame.
 */
export class ReferenceBook {
  private readonly refs = new Map<string, Reference>();
  constructor(
    private readonly settings: RegistrationSettings,
    private readonly defaultRecipe?: string,
  ) {}

  get recipes(): string[] {
    return [...this.refs.keys()];
  }

  async put(recipe: string, image: Mat): Promise<void> {
    const cv = opencv();
    const grey = image.channels === 1 ? image.copy() : image.cvtColor(cv.COLOR_BGR2GRAY);
    const ref = await describeReference(recipe, grey, this.settings);
    this.remove(recipe);
    this.refs.set(recipe, ref);
  }

  remove(recipe: string): void {
    const old = this.refs.get(recipe);
    if (!old) return;
    old.release();
    this.refs.delete(recipe);
  }

  forFrame(frame: Pick<Frame, 'recipe' | 'camera'>): Reference {
    const key = frame.recipe ?? this.defaultRecipe ?? (this.refs.size === 1 ? [...this.refs.keys()][0] : undefined);
    const ref = key === undefined ? undefined : this.refs.get(key);
    if (!ref) {
      throw new TemplateReferenceError(
        `camera ${frame.camera}: no reference for recipe ${key === undefined ? '(none named)' : `"${key}"`} (references: ${this.recipes.join(', ') || 'none'})`,
      );
    }
    return ref;
  }

  close(): void {
    for (const key of this.recipes) this.remove(key);
  }
}

/**
 * A reference file (recipe: its file name without extension) or a folder of them, one per recipe.
 * Unreadable or featureless references fail here, at start, not on the first frame.
 */
export async function loadReferenceBook(path: string, settings: RegistrationSettings, defaultRecipe?: string): Promise<ReferenceBook> {
  let files: string[];
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((n) => IMAGE_EXT.has(extname(n).toLowerCase()))
          .sort()
          .map((n) => join(path, n))
      : [path];
  } catch (err) {
    throw new TemplateReferenceError(`template references ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  if (files.length === 0) throw new TemplateReferenceError(`template references ${path}: no image files in it`);
  const book = new ReferenceBook(settings, defaultRecipe);
  try {
    for (const file of files) {
      let image: Mat;
      try {
        image = await readImageFile(file);
      } catch (err) {
        throw new TemplateReferenceError(`template reference ${file} cannot be read`, { cause: err });
      }
      await book.put(basename(file, extname(file)), image);
      image.release();
    }
    if (defaultRecipe !== undefined && !book.recipes.includes(defaultRecipe)) {
      throw new TemplateReferenceError(`template recipe "${defaultRecipe}" has no reference in ${path} (there: ${book.recipes.join(', ')})`);
    }
  } catch (err) {
    book.close();
    throw err;
  }
  return book;
}
