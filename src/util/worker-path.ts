import { existsSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InspectdError } from '../errors.js';

/**
 * A worker thread's script must be plain JavaScript. From dist/ it sits beside the module that
 * starts it; when that module runs from TypeScript source (vitest), the compiled copy under dist/
 * is used instead, and its absence is a build problem named as such.
 */
export function compiledWorker(callerUrl: string, workerFile: string): string {
  const here = fileURLToPath(callerUrl);
  if (here.endsWith('.js')) return join(dirname(here), workerFile);
  const srcDir = dirname(here);
  const root = resolve(srcDir.slice(0, srcDir.lastIndexOf('/src') + 1));
  const compiled = join(root, 'dist', relative(root, srcDir), basename(workerFile));
  if (!existsSync(compiled)) throw new InspectdError('INSPECTD_BACKEND_UNAVAILABLE', `compiled worker ${compiled} is missing: run npm run build`);
  return compiled;
}
