/**
 * The handles OPC 40100's Get... methods hand out (ResultHandle, RecipeHandle, ConfigurationHandle):
 * one per call, unique on the system, released by the Release...Handle method or when the
 * client's Timeout hint runs out (40100: "how long it will need access to the data"; 0: nothing
 * beyond the call, < 0: no estimate). A handle pins nothing, since results and configurations are
 * read from the log and the file as they are; it only lets a Release call be answered truthfully
 * (a handle this server never gave, or gave and let go, is Error -1).
 */

/** Lifetime of a handle whose client gave no estimate (Timeout < 0). */
const NO_ESTIMATE_MS = 10 * 60_000;
/** Handles held at most; past it the oldest is let go first (a client that never releases cannot grow the map). */
const MAX_HELD = 10_000;

export class HandleDesk {
  private last = 0;
  /** Handle → when it lapses (epoch ms); insertion order is issue order. */
  private readonly held = new Map<number, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new handle for a client that needs the data for timeoutMs (40100's Timeout argument). */
  issue(timeoutMs: number): number {
    this.sweep();
    this.last = this.last >= 0xffff_fffe ? 1 : this.last + 1;
    // Timeout 0: the client needs nothing beyond the call's answer, so the handle lapses at once.
    if (timeoutMs !== 0) this.held.set(this.last, this.now() + (timeoutMs > 0 ? timeoutMs : NO_ESTIMATE_MS));
    if (this.held.size > MAX_HELD) this.held.delete(this.held.keys().next().value!);
    return this.last;
  }

  /** Whether the handle was held (and is now let go). */
  release(handle: number): boolean {
    this.sweep();
    return this.held.delete(handle);
  }

  private sweep(): void {
    const now = this.now();
    for (const [h, until] of this.held) if (until <= now) this.held.delete(h);
  }
}
