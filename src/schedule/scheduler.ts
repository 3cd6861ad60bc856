import type { Logger } from 'pino';
import { errorCode, errorMessage } from '../errors.js';
import type { InferenceBackend, TensorMap } from '../infer/backend.js';
import type { PreparedInput } from '../preprocess/preprocess.js';
import type { Frame } from '../source/frame.js';
import { IdleSignal } from '../util/idle-signal.js';
import type { Decision } from '../verdict/types.js';

/**
 * What the scheduler needs from the rest of the pipeline. It owns timing only: when a frame is
 * dispatched, when its deadline fires, and that each frame gets exactly one verdict.
 */
export interface PipelineStages {
  preprocess(frame: Frame): PreparedInput;
  toInputs(prepared: PreparedInput): TensorMap;
  /** decode + verdict rules; may throw (bad output, out-of-range score) → ERROR. */
  judge(frame: Frame, outputs: TensorMap, prepared: PreparedInput): Decision;
}

export interface VerdictSink {
  /** Record durably and publish; returns the seq allocated. Must not throw. */
  decided(frame: Frame, decision: Decision, decidedAt: number, deadlineMs: number): number | undefined;
  /** A result that arrived after its frame was already given TIMEOUT. */
  late(seq: number, decision: Decision, decidedAt: number): void;
}

export interface SchedulerOptions {
  /** Frames waiting for a free backend; past this the oldest waiting frame is shed (TIMEOUT). */
  maxQueue: number;
}

interface Job {
  frame: Frame;
  deadlineMs: number;
  deadlineAt: number;
  prepared: PreparedInput;
  timer: NodeJS.Timeout | undefined;
  /** seq of the verdict already given (TIMEOUT at the deadline), if any. */
  timedOutSeq: number | undefined;
  decided: boolean;
  running: boolean;
  /** Judged unable to finish before its deadline; waits for its TIMEOUT without running. */
  skipped: boolean;
}

export interface SchedulerStats {
  submitted: number;
  decided: number;
  timeouts: number;
  shed: number;
  errors: number;
  late: number;
}

export class Scheduler {
  private readonly idle: InferenceBackend[];
  private readonly queue: Job[] = [];
  private readonly open = new Set<Job>();
  private readonly allSettled = new IdleSignal();
  readonly stats: SchedulerStats = { submitted: 0, decided: 0, timeouts: 0, shed: 0, errors: 0, late: 0 };

  constructor(
    backends: InferenceBackend[],
    private readonly stages: PipelineStages,
    private readonly sink: VerdictSink,
    private readonly opts: SchedulerOptions,
    private readonly log: Logger,
  ) {
    this.idle = [...backends];
  }

  /** Takes a frame; exactly one verdict follows, at the latest at capturedAt + deadlineMs. */
  submit(frame: Frame, deadlineMs: number): void {
    this.stats.submitted++;
    const deadlineAt = frame.capturedAt + deadlineMs;
    let prepared: PreparedInput;
    try {
      prepared = this.stages.preprocess(frame);
    } catch (err) {
      this.decide(frame, deadlineMs, errorDecision(err));
      return;
    }
    const job: Job = { frame, deadlineMs, deadlineAt, prepared, timer: undefined, timedOutSeq: undefined, decided: false, running: false, skipped: false };
    const wait = deadlineAt - Date.now();
    if (wait <= 0) {
      // Already too late before inference could start: fail safe now rather than queue it.
      this.stats.shed++;
      this.timeout(job);
      return;
    }
    this.open.add(job);
    job.timer = setTimeout(() => this.onDeadline(job), wait);
    this.queue.push(job);
    if (this.queue.length > this.opts.maxQueue) {
      const oldest = this.queue.shift()!;
      if (oldest.timer) clearTimeout(oldest.timer);
      oldest.timer = undefined;
      this.stats.shed++;
      this.log.debug({ camera: oldest.frame.camera, frameId: oldest.frame.frameId }, 'queue full: frame shed');
      this.timeout(oldest);
      this.settle(oldest);
    }
    this.dispatch();
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const job = this.queue.shift()!;
      if (job.decided) {
        // Its deadline passed while it waited: running it now would only delay the frames behind it.
        this.settle(job);
        continue;
      }
      if (this.queue.length > 0 && job.deadlineAt - Date.now() < this.expectedInferMs) {
        // It cannot be answered in time, and a newer frame is waiting: running it would only make that
        // one late too, and under overload plain FIFO turns every frame into a TIMEOUT. Skip it; its
        // timer still gives TIMEOUT at its deadline. The newest frame is always run (best effort), so
        // a pessimistic estimate can never starve the line.
        job.skipped = true;
        this.stats.shed++;
        continue;
      }
      const backend = this.idle.pop()!;
      job.running = true;
      const started = performance.now();
      let inputs: TensorMap;
      try {
        inputs = this.stages.toInputs(job.prepared);
      } catch (err) {
        this.idle.push(backend);
        this.finish(job, errorDecision(err));
        continue;
      }
      backend.run(inputs).then(
        (outputs) => {
          this.idle.push(backend);
          this.observeInferMs(performance.now() - started);
          let decision: Decision;
          try {
            decision = this.stages.judge(job.frame, outputs, job.prepared);
          } catch (err) {
            decision = errorDecision(err);
          }
          this.finish(job, decision);
          this.dispatch();
        },
        (err: unknown) => {
          this.idle.push(backend);
          this.finish(job, errorDecision(err));
          this.dispatch();
        },
      );
    }
  }

  /** What a dispatch costs until its result is back: an exponentially weighted mean of recent runs. */
  private expectedInferMs = 0;
  private observeInferMs(ms: number): void {
    this.expectedInferMs = this.expectedInferMs === 0 ? ms : this.expectedInferMs * 0.8 + ms * 0.2;
  }

  private onDeadline(job: Job): void {
    job.timer = undefined;
    if (job.decided) return;
    this.timeout(job);
    if (!job.running) {
      // Queued or skipped: it will never run, so nothing more will come for it.
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
      this.settle(job);
    }
  }

  private timeout(job: Job): void {
    if (job.decided) return;
    this.stats.timeouts++;
    job.timedOutSeq = this.decide(job.frame, job.deadlineMs, { verdict: 'TIMEOUT', score: null, defects: [] });
    job.decided = true;
  }

  private finish(job: Job, decision: Decision): void {
    if (job.timer) clearTimeout(job.timer);
    job.timer = undefined;
    // The deadline timer may not have run yet when a busy main thread delivers the result after the
    // deadline: the answer is late all the same, so the frame gets its TIMEOUT and this is the late result.
    if (!job.decided && Date.now() > job.deadlineAt) this.timeout(job);
    if (!job.decided) {
      job.decided = true;
      this.decide(job.frame, job.deadlineMs, decision);
    } else if (job.timedOutSeq !== undefined) {
      this.stats.late++;
      this.sink.late(job.timedOutSeq, decision, Date.now());
    }
    this.settle(job);
  }

  private decide(frame: Frame, deadlineMs: number, decision: Decision): number | undefined {
    this.stats.decided++;
    if (decision.verdict === 'ERROR') {
      this.stats.errors++;
      this.log.warn({ camera: frame.camera, frameId: frame.frameId, code: decision.error?.code, err: decision.error?.message }, 'frame ERROR');
    }
    return this.sink.decided(frame, decision, Date.now(), deadlineMs);
  }

  private settle(job: Job): void {
    if (!this.open.delete(job)) return;
    if (this.open.size === 0) this.allSettled.notify();
  }

  /** Frames accepted but not yet settled (verdict given and, if inference ran, its result in). */
  get pending(): number {
    return this.open.size;
  }

  /** Resolves when every accepted frame has its verdict and every running inference has returned. */
  async settled(timeoutMs: number): Promise<boolean> {
    return this.allSettled.wait(timeoutMs, this.open.size === 0);
  }
}

export function errorDecision(err: unknown): Decision {
  return { verdict: 'ERROR', score: null, defects: [], error: { code: errorCode(err), message: errorMessage(err) } };
}
