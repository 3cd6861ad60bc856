import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A data file kept beside its module in src/ (a .proto schema): tsc copies only code to dist/, so a
 * module running from dist/src/... reads the file from the same folder under src/.
 */
export function sourceAsset(callerUrl: string, file: string): string {
  const dir = dirname(fileURLToPath(callerUrl));
  const marker = `${join('dist', 'src')}`;
  const at = dir.lastIndexOf(marker);
  if (at < 0) return join(dir, file);
  const root = resolve(dir.slice(0, at));
  return join(root, 'src', relative(join(root, marker), dir), file);
}
