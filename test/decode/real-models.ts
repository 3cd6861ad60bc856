import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo root and ../shared beside it, as CI lays them out. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const shared = resolve(repoRoot, '../shared');
export const fixtureModel = (name: string) => resolve(repoRoot, 'test/fixtures/models', name, 'model.json');
export const sample = (model: string, file: string) => resolve(shared, 'models', model, 'samples', file);

/** [x1, y1, x2, y2] as the READMEs write boxes, to the decoder's [x, y, w, h]. */
export function xyxy(b: [number, number, number, number]): [number, number, number, number] {
  return [b[0], b[1], b[2] - b[0], b[3] - b[1]];
}
