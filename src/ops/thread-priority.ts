import { execFileSync } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { errorMessage } from '../errors.js';
import { thisThreadId } from './cpu-affinity.js';

/**
 * Sets the nice value of the calling thread only. On Linux, setpriority(PRIO_PROCESS, 0) acts on the
 * calling thread, not the process (NPTL; see setpriority(2), BUGS), and Node's os.setPriority with no
 * pid passes 0, so called inside a worker thread it prioritises just that worker. Never throws: a
 * thread left at its inherited priority still works, so the answer says what happened, for the log.
 */
export function setThisThreadNice(nice: number): string {
  try {
    setPriority(nice);
    return `nice ${getPriority()}`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const hint = nice < 0 ? ' (raising needs CAP_SYS_NICE or RLIMIT_NICE: the systemd unit sets LimitNICE=)' : '';
    return `nice ${getPriority()}: could not set ${nice}: ${code}${hint}`;
  }
}

/**
 * Puts the calling thread under SCHED_BATCH (Linux), keeping its nice value: its share of the CPU is
 * unchanged, but waking it no longer preempts the thread that woke it. The inference thread is woken
 * by the main thread's postMessage; at nice -5 under SCHED_OTHER it took the main thread's core at
 * once, and the main thread sat inside postMessage until the scheduler moved one of them (a profile of
 * the daemon showed ~1 ms a frame there, up to 5 ms; bench/RESULTS.md). Node has no
 * sched_setscheduler, so util-linux's `chrt` (beside `taskset`) makes the call for this thread's id.
 * Threads the caller creates afterwards (ONNX Runtime's) inherit the policy. Never throws.
 */
export function setThisThreadBatch(): string {
  try {
    execFileSync('chrt', ['--batch', '-p', '0', String(thisThreadId())], { stdio: ['ignore', 'ignore', 'pipe'] });
    return 'SCHED_BATCH';
  } catch (err) {
    return `SCHED_OTHER: could not set SCHED_BATCH: ${errorMessage(err).split('\n')[0]}`;
  }
}
