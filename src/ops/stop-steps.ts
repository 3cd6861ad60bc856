import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';

/**
 * The steps of a clean stop, each given a bound. A step that has not settled by its bound is logged
 * (`daemon.stop_hung`, naming the step) and left behind, and the stop goes on to the next: a stop
 * that waits on something that never settles (a camera process, a broker acknowledgement, the writer
 * thread) must still end, and say which step it was, rather than be SIGKILLed by systemd's
 * TimeoutStopSec with nothing in the journal. A step that throws is logged and the stop goes on too.
 */
export class StopSteps {
  /** Steps that did not settle within their bound, in stop order. */
  readonly hung: string[] = [];

  constructor(private readonly log: Logger) {}

  /** Runs one step; resolves with its value, or undefined when it hung or failed. */
  async run<T>(step: string, limitMs: number, work: () => Promise<T> | T): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const t0 = performance.now();
    const hung = new Promise<typeof HUNG>((resolve) => {
      timer = setTimeout(() => resolve(HUNG), limitMs);
    });
    try {
      const result = await Promise.race([Promise.resolve().then(work), hung]);
      if (result === HUNG) {
        this.hung.push(step);
        this.log.error({ event: 'daemon.stop_hung', code: 'INSPECTD_STOP_HUNG', step, waitedMs: limitMs }, `stop step "${step}" did not end within ${limitMs} ms; going on without it`);
        return undefined;
      }
      this.log.debug({ step, ms: Math.round(performance.now() - t0) }, 'stop step done');
      return result;
    } catch (err) {
      this.log.error({ event: 'daemon.stop_failed', code: 'INSPECTD_STOP_FAILED', step, err: errorMessage(err), stack: err instanceof Error ? err.stack : undefined }, `stop step "${step}" failed; going on`);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

const HUNG = Symbol('hung');

/**
 * A stop step's bound where the step has no timeout of its own; steps that wait drainMs get that
 * plus STEP_SLACK_MS. Nothing hung, a stop takes what its steps take (under a second with the broker
 * up; up to 2 × drainMs with it down); one step hung adds its bound: 8-16 s, inside systemd's
 * TimeoutStopSec=30 with the default drainMs of 5000.
 */
export const STEP_LIMIT_MS = 8000;
export const STEP_SLACK_MS = 2000;

