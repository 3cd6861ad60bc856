import { resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const sharedRoot = resolve(repoRoot, '../shared');
/** The embedded default model, a real trained ONNX file. */
export const defaultModelJson = resolve(repoRoot, 'models/synthetic-line/model.json');
export const cliPath = resolve(repoRoot, 'dist/src/cli/main.js');
