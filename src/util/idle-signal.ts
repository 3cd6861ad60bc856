/**
 * "Tell me when this has emptied, but give up after a while": the shape of every clean-stop wait
 * (frames settling, the outbox draining). The owner calls notify() whenever it becomes idle.
 */
export class IdleSignal {
  private readonly waiters = new Set<() => void>();

  /** Someone is waiting: the owner need only check (and pay for checking) whether it is idle then. */
  get waiting(): boolean {
    return this.waiters.size > 0;
  }

  notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves true when notified, false after timeoutMs; `idleNow` short-circuits. */
  wait(timeoutMs: number, idleNow: boolean): Promise<boolean> {
    if (idleNow) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(onIdle);
        resolve(ok);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(onIdle);
    });
  }
}
