import { resolve } from 'node:path';
import { repoRoot, sharedRoot as shared } from '../helpers/model.js';

export { repoRoot, shared };
export const fixtureModel = (name: string) => resolve(repoRoot, 'test/fixtures/models', name, 'model.json');
export const sample = (model: string, file: string) => resolve(shared, 'models', model, 'samples', file);

/** [x1, y1, x2, y2] as the READMEs write boxes, to the decoder's [x, y, w, h]. */
export function xyxy(b: [number, number, number, number]): [number, number, number, number] {
  return [b[0], b[1], b[2] - b[0], b[3] - b[1]];
}

/** Magnetic-tile val tiles used by the real-output decoder tests: 6 defect-free, each defect kind at least once. */
export const MT_VAL = resolve(shared, 'data/magnetic-tile/val');
export const MT_VAL_SAMPLE: ReadonlyArray<{ file: string; defect: boolean }> = [
  { file: 'MT_Free/exp4_num_316364.jpg', defect: false },
  { file: 'MT_Free/exp3_num_344580.jpg', defect: false },
  { file: 'MT_Free/exp1_num_11276.jpg', defect: false },
  { file: 'MT_Free/exp4_num_277041.jpg', defect: false },
  { file: 'MT_Free/exp1_num_61310.jpg', defect: false },
  { file: 'MT_Free/exp4_num_889.jpg', defect: false },
  { file: 'MT_Blowhole/exp3_num_346347.jpg', defect: true },
  { file: 'MT_Blowhole/exp3_num_322643.jpg', defect: true },
  { file: 'MT_Break/exp1_num_98080.jpg', defect: true },
  { file: 'MT_Crack/exp3_num_32171.jpg', defect: true },
  { file: 'MT_Fray/exp1_num_20362.jpg', defect: true },
  { file: 'MT_Uneven/exp4_num_109286.jpg', defect: true },
];
