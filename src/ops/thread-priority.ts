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
