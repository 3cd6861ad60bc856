import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff']);

/**
 * Image files named by paths: files as given, directories listed (recursively only when asked)
 * for image extensions, sorted so order is stable. Paths that do not exist are returned as
 * problems, not thrown, so the other inputs still run.
 */
export function listImages(inputs: readonly string[], recursive = false): { files: string[]; problems: string[] } {
  const files: string[] = [];
  const problems: string[] = [];
  const walk = (dir: string): void => {
    const found: string[] = [];
    const subdirs: string[] = [];
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) subdirs.push(p);
      else if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(p);
    }
    files.push(...found.sort());
    if (recursive) for (const d of subdirs.sort()) walk(d);
  };
  for (const input of inputs) {
    let isDir: boolean;
    try {
      isDir = statSync(input).isDirectory();
    } catch {
      problems.push(`${input}: no such file or directory`);
      continue;
    }
    if (isDir) walk(input);
    else files.push(input);
  }
  return { files, problems };
}
