import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (where models/ and config/ live), whether running from src/ or dist/src/. */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return basename(dirname(here)) === 'dist' ? resolve(here, '../..') : resolve(here, '..');
}
