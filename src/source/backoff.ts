/**
 * Reconnect delays for a camera: exponential from initialMs, capped at maxMs, with jitter. The jitter
 * (each delay drawn from [d/2, d]) keeps a line's cameras, which all drop together when a switch
 * reboots, from hammering it in lock-step when it comes back.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call doubles the ceiling until maxMs. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /** After a success the next failure starts again from initialMs. */
  reset(): void {
    this.attempt = 0;
  }
}
