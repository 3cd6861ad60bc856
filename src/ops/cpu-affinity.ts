import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';

/**
 * CPU affinity of threads (config inference.cpus). Node has no sched_setaffinity, so util-linux's
 * `taskset` (in every Debian and Ubuntu base image) makes the call for the thread named by its id.
 * A thread's affinity is inherited by the threads and processes it creates afterwards, which is
 * what the two entry points rely on: the inference worker pins itself before ONNX Runtime makes its
 * own threads, and the daemon moves all of its threads off those CPUs before it creates the workers,
 * the broker and the cameras. Nothing here throws: a line that runs unpinned still works, so each
 * answer says what happened, for the log.
 */

/** The kernel's id of the calling thread (what taskset, /proc/PID/task and top -H name). */
export function thisThreadId(): number {
  // "/proc/thread-self" links to "PID/task/TID" (Linux 3.17+).
  return Number(readlinkSync('/proc/thread-self').split('/').at(-1));
}

/** "0-2,5" → [0, 1, 2, 5]: the kernel's CPU list format (Cpus_allowed_list, taskset -c). */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const [lo, hi] = part.split('-').map(Number) as [number, number | undefined];
    for (let c = lo; c <= (hi ?? lo); c++) out.push(c);
  }
  return out;
}

/** CPUs a thread (default: the calling one) may run on, as the kernel reports them. */
export function threadCpus(tid: number | 'thread-self' = 'thread-self'): number[] {
  const path = tid === 'thread-self' ? '/proc/thread-self/status' : `/proc/self/task/${tid}/status`;
  const line = readFileSync(path, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Cpus_allowed_list:'));
  return line ? parseCpuList(line.slice(line.indexOf(':') + 1)) : [];
}

let processCpus: number[] | undefined | null = null;

/**
 * CPUs this process may use (its cpuset), undefined where /proc cannot tell (not Linux). Read once,
 * at the first call (the config's check at start, before keepOffCpus): afterwards the calling
 * thread's own list lacks the CPUs the inference took, and a reload's config check would refuse them.
 */
export function usableCpus(): number[] | undefined {
  if (processCpus === null) {
    try {
      processCpus = threadCpus();
    } catch {
      processCpus = undefined;
    }
  }
  return processCpus;
}

/** Pins the calling thread to cpus. Answers 'cpus 1' as read back from the kernel, or why not. */
export function pinThisThread(cpus: readonly number[]): string {
  try {
    return taskset(['-p', '-c', cpus.join(','), String(thisThreadId())]);
  } catch (err) {
    return failure(cpus, err);
  }
}

/**
 * Moves every thread of this process off `reserved` (onto the usable CPUs left), so the inference
 * threads pinned there have them to themselves; threads and child processes made later inherit it.
 * Leaves things as they are when nothing would be left.
 */
export function keepOffCpus(reserved: readonly number[]): string {
  const usable = usableCpus();
  if (!usable) return 'affinity unknown: /proc/thread-self is not readable';
  const rest = usable.filter((c) => !reserved.includes(c));
  if (rest.length === 0) return `cpus ${usable.join(',')}: inference.cpus names them all, so the rest of the daemon shares them`;
  try {
    return taskset(['-a', '-p', '-c', rest.join(','), String(process.pid)]);
  } catch (err) {
    return failure(rest, err);
  }
}

function taskset(args: string[]): string {
  execFileSync('taskset', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return `cpus ${threadCpus().join(',')}`;
}

function failure(cpus: readonly number[], err: unknown): string {
  const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
  const why = e.code === 'ENOENT' ? 'taskset (util-linux) not found' : (e.stderr?.toString().trim() || e.message);
  let now = '?';
  try {
    now = threadCpus().join(',');
  } catch {
    // Not Linux: nothing to read back.
  }
  return `cpus ${now}: could not set ${cpus.join(',')}: ${why}`;
}
