import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

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
 * How a thread yields to the line. nice: CFS at a nice value (+5 is weight 335 against the line's
 * 1024: it still gets a quarter of a contended core). idle: SCHED_IDLE (weight 3), a core only when
 * no other thread wants it; needs no privilege (sched(7)), but leaving it again does.
 */
export type ThreadPolicy = 'nice' | 'idle';

/**
 * Puts the calling thread, only it, under `policy` (at `nice` either way: it is what is left where
 * SCHED_IDLE cannot be had). Node has no sched_setscheduler, so for idle this thread's tid (from
 * /proc/thread-self, resolved by the calling thread's own readlink) is given to util-linux's
 * `chrt -i -p 0 TID`: without -a it changes that one task. Never throws; the answer is what the
 * kernel then reports for the thread ('SCHED_IDLE', 'nice 5'), with why the policy could not be set.
 */
export function setThisThreadPolicy(policy: ThreadPolicy, nice: number): string {
  const niceAnswer = setThisThreadNice(nice);
  if (policy === 'nice') return niceAnswer;
  let tid: string;
  try {
    tid = thisThreadId();
  } catch (err) {
    return `${niceAnswer}: SCHED_IDLE not set: ${(err as Error).message}`;
  }
  const chrt = spawnSync('chrt', ['-i', '-p', '0', tid], { encoding: 'utf8' });
  const held = threadScheduling(tid);
  if (held === 'SCHED_IDLE') return held;
  const why = chrt.error ? `chrt: ${(chrt.error as NodeJS.ErrnoException).code ?? chrt.error.message}` : `chrt exited ${chrt.status}: ${chrt.stderr.trim()}`;
  return `${held}: SCHED_IDLE not set: ${why}`;
}

/** The calling thread's kernel task id: /proc/thread-self links to PID/task/TID (Linux 3.17+). */
export function thisThreadId(): string {
  return readlinkSync('/proc/thread-self').split('/').at(-1)!;
}

/**
 * One thread of this process as the kernel schedules it: 'SCHED_IDLE', or 'nice N' under the normal
 * policy, from /proc/self/task/TID/stat (field 41 policy, 5 = SCHED_IDLE; field 19 nice).
 */
export function threadScheduling(tid: string): string {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3
  if (f[38] === '5') return 'SCHED_IDLE';
  if (f[38] === '0') return `nice ${f[16]}`;
  return `policy ${f[38]}, nice ${f[16]}`;
}
