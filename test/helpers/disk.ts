import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';

/** Writes a file until the filesystem says ENOSPC; returns its size. */
export function fill(file: string): number {
  const fd = openSync(file, 'w');
  let bytes = 0;
  try {
    for (const chunk of [1 << 20, 1 << 16, 1 << 12, 512, 1]) {
      const buf = Buffer.alloc(chunk, 1);
      for (;;) {
        try {
          bytes += writeSync(fd, buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/** A real tmpfs of `sizeMb` at `dir` (we run as root); throws saying why when the machine refuses the mount. */
export function mountTmpfs(dir: string, sizeMb: number): void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`cannot mount a tmpfs for the disk-full test (needs root and mount rights): ${(err as { stderr?: Buffer }).stderr?.toString() ?? String(err)}`);
  }
}
