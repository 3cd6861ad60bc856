import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Image paths from a file, one per line (`-` = stdin); blank lines skipped. For lists longer than a
 * command line should carry (see withShortArgv).
 */
export function readFileList(spec: string): string[] {
  const text = readFileSync(spec === '-' ? 0 : spec, 'utf8');
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim().length > 0);
}

/**
 * onnxruntime-node crashes (SIGSEGV, no output) when it loads in a worker thread of a process whose
 * command line is longer than about 14 KB, as a shell glob over a few hundred images makes it. Such a
 * command is run again as a child with a short command line, the image paths on its stdin
 * (`--files-from -`), its output and exit status passed through. 8 KB leaves a margin below the crash.
 */
export const ARGV_LIMIT_BYTES = 8 * 1024;

export function argvBytes(argv: readonly string[] = process.argv): number {
  return argv.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
}

/** Runs this command again with `images` moved from the command line to stdin; resolves its exit status. */
export function rerunWithFileList(images: readonly string[]): Promise<number> {
  // Each image given on the command line is taken out once, from the end (options come first).
  const args = process.argv.slice(2);
  for (const image of [...images].reverse()) {
    const at = args.lastIndexOf(image);
    if (at >= 0) args.splice(at, 1);
  }
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args, '--files-from', '-'], { stdio: ['pipe', 'inherit', 'inherit'] });
  child.stdin.on('error', () => {}); // the child may end (bad model) before reading the whole list
  child.stdin.end(images.map((i) => `${i}\n`).join(''));
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 1 : 1))));
}
