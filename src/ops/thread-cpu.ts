import { readFileSync } from 'node:fs';

/**
 * CPU time the calling thread has run, in ms, from the kernel's schedstat (ns on a CPU). Unlike an
 * event-loop utilisation it does not grow while the thread waits for a core on a loaded box, so a
 * thread's cost per unit of work can be compared across runs that were not quiet. Undefined where
 * /proc/thread-self is not there (not Linux, or a kernel before 3.17).
 */
export function threadCpuMs(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}
