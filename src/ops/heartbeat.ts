/**
 * Whether the pipeline is answering frames: the one signal behind WATCHDOG=1 and /healthz.
 *
 * A frame is answered when it gets PASS, FAIL or ERROR by its deadline. A TIMEOUT is given by a
 * timer, so it keeps coming when inference has hung; and a result that comes back after its deadline
 * (late) answers nobody: the PLC already rejected the part. So the pipeline is stalled when a frame
 * has waited `stallMs` and no frame has been answered since it came in: inference hung, or so slow
 * (or the deadline so short) that every part is being rejected. A line with no frames at all (idle by
 * design, or a camera that is down: not the pipeline's fault, and /readyz shows it) is not stalled,
 * and neither is one under overload that still answers some frames in time.
 */
export class PipelineHeartbeat {
  /** When the oldest frame not followed by any answer came in; undefined when every frame so far was followed by one. */
  private waitingSince: number | undefined;
  private answeredAny = false;
  lastAnswerAt: number | undefined;

  constructor(
    readonly stallMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  frameIn(): void {
    this.waitingSince ??= this.now();
  }

  answered(): void {
    this.waitingSince = undefined;
    this.answeredAny = true;
    this.lastAnswerAt = this.now();
  }

  get firstAnswered(): boolean {
    return this.answeredAny;
  }

  /** How long frames have waited without any answer, in ms; 0 when nothing waits. */
  waitingMs(): number {
    return this.waitingSince === undefined ? 0 : this.now() - this.waitingSince;
  }

  stalled(): boolean {
    return this.waitingMs() > this.stallMs;
  }
}
