import { fork, type ChildProcess } from 'node:child_process';
import { compiledWorker } from '../util/worker-path.js';
import type { FromSubscriber, ReceivedVerdict, ToSubscriber } from './subscriber-protocol.js';

export type { ReceivedVerdict } from './subscriber-protocol.js';

/**
 * The bench's outside subscriber (the PLC's stand-in) as a child process: see subscriber-process.ts
 * for why it is not in the bench's own process. Verdicts received while counting are kept there and
 * handed over once, at the end.
 */
export class BenchSubscriber {
  subscribed = false;
  received = 0;
  timeouts = 0;
  private report: ((r: ReceivedVerdict[]) => void) | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: FromSubscriber) => {
      if (m.type === 'subscribed') this.subscribed = true;
      else if (m.type === 'progress') {
        this.received = m.received;
        this.timeouts = m.timeouts;
      } else this.report?.(m.received);
    });
  }

  static start(url: string, topic: string): BenchSubscriber {
    return new BenchSubscriber(fork(compiledWorker(import.meta.url, 'subscriber-process.js'), [url, topic], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  count(on: boolean): void {
    this.send({ type: 'count', on });
  }

  /** Every verdict received while counting; the subscriber then disconnects and exits. */
  finish(timeoutMs = 10_000): Promise<ReceivedVerdict[]> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('bench subscriber did not report')), timeoutMs);
      this.report = (r) => {
        clearTimeout(t);
        resolve(r);
      };
      this.send({ type: 'report' });
    });
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private send(m: ToSubscriber): void {
    if (this.child.connected) this.child.send(m);
  }
}
