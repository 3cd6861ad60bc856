import type { Logger } from 'pino';
import { errorCode, errorMessage } from '../errors.js';
import type { InferenceBackend } from '../infer/backend.js';
import type { CameraInspection } from '../inspect/camera.js';
import type { ModelInput } from '../inspect/model-input.js';
import type { Frame } from '../source/frame.js';
import { IdleSignal } from '../util/idle-signal.js';
import type { Decision } from '../verdict/types.js';
import { StageTimes } from './stage-times.js';

export interface VerdictSink {
  /** Record durably and publish; returns the seq allocated. Must not throw. */
  decided(frame: Frame, decision: Decision, decidedAt: number, deadlineMs: number, inspection: CameraInspection): number | undefined;
  /** A result that arrived after its frame was already given TIMEOUT. */
  late(seq: number, decision: Decision, decidedAt: number): void;
  /**
   * The frame is done with (verdict given, inference returned): the sink owns its image now (the
   * reject archive may keep it). Without this hook the scheduler releases the image itself.
   */
  settled?(frame: Frame, seq: number | undefined): void;
}

export interface SchedulerOptions {
  /** Frames of one camera waiting for a free backend; past this that camera's oldest is shed (TIMEOUT). */
  maxQueue: number;
}

interface Job {
  frame: Frame;
  inspection: CameraInspection;
  deadlineMs: number;
  deadlineAt: number;
  prepared: ModelInput | undefined;
  /** Preprocessing (possibly off the main thread) has not returned yet. */
  preparing: boolean;
  queuedAt: number;
  timer: NodeJS.Timeout | undefined;
  /** seq of the verdict already given (TIMEOUT at the deadline), if any. */
  timedOutSeq: number | undefined;
  /** seq of the frame's verdict, whichever it was. */
  seq?: number | undefined;
  decided: boolean;
  running: boolean;
}

export interface SchedulerStats {
  submitted: number;
  decided: number;
  timeouts: number;
  shed: number;
  errors: number;
  late: number;
}

/**
 * Runs the frames of every camera that shares one backend pool (one model). It owns timing only:
 * when a frame is dispatched, when its deadline fires, and that each frame gets exactly one verdict.
 * Waiting frames are kept in deadline order and bounded per camera, so a fast camera sheds its own
 * backlog, never a slow camera's; see pick() for the order they run in.
 */
export class Scheduler {
  private readonly idle: InferenceBackend[];
  /** Prepared frames waiting for a backend, in deadline order. */
  private readonly queue: Job[] = [];
  private readonly queuedByCamera = new Map<string, number>();
  private readonly open = new Set<Job>();
  private readonly allSettled = new IdleSignal();
  readonly stats: SchedulerStats = { submitted: 0, decided: 0, timeouts: 0, shed: 0, errors: 0, late: 0 };
  readonly times = new StageTimes();

  constructor(
    backends: readonly InferenceBackend[],
    private readonly sink: VerdictSink,
    private readonly opts: SchedulerOptions,
    private readonly log: Logger,
  ) {
    this.idle = [...backends];
  }

  /** Takes a frame; exactly one verdict follows, at the latest at capturedAt + deadlineMs. */
  submit(frame: Frame, deadlineMs: number, inspection: CameraInspection): void {
    this.stats.submitted++;
    // A triggered part is due when the PLC asked plus the deadline; a free-running frame from capture.
    const deadlineAt = (frame.triggeredAt ?? frame.capturedAt) + deadlineMs;
    const job: Job = {
      frame,
      inspection,
      deadlineMs,
      deadlineAt,
      prepared: undefined,
      preparing: true,
      queuedAt: 0,
      timer: undefined,
      timedOutSeq: undefined,
      decided: false,
      running: false,
    };
    const wait = deadlineAt - Date.now();
    if (wait <= 0) {
      // Already too late before inference could start: fail safe now rather than queue it.
      this.stats.shed++;
      this.timeout(job);
      this.handOver(job);
      return;
    }
    this.open.add(job);
    job.timer = setTimeout(() => this.onDeadline(job), wait);
    const t0 = performance.now();
    inspection.prepare(frame).then(
      (prepared) => {
        job.preparing = false;
        this.times.observe('prepare', performance.now() - t0);
        if (job.decided) {
          // Its deadline passed while it was being prepared: it has its TIMEOUT, nothing will run.
          this.settle(job);
          return;
        }
        job.prepared = prepared;
        this.enqueue(job);
        this.dispatch();
      },
      (err: unknown) => {
        job.preparing = false;
        this.finish(job, errorDecision(err));
      },
    );
  }

  /**
   * A trigger whose frame never came: the part still gets exactly one verdict, TIMEOUT, at its
   * deadline (frameId -1: no frame was taken).
   */
  timeoutWithoutFrame(frame: Frame, deadlineMs: number, inspection: CameraInspection): void {
    this.stats.submitted++;
    const job: Job = {
      frame,
      inspection,
      deadlineMs,
      deadlineAt: (frame.triggeredAt ?? frame.capturedAt) + deadlineMs,
      prepared: undefined,
      preparing: false,
      queuedAt: 0,
      timer: undefined,
      timedOutSeq: undefined,
      decided: false,
      running: false,
    };
    this.timeout(job);
    this.handOver(job);
  }

  private enqueue(job: Job): void {
    job.queuedAt = performance.now();
    // Binary insertion by deadline; equal deadlines keep arrival order.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.queue[mid]!.deadlineAt <= job.deadlineAt) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, job);
    const camera = job.frame.camera;
    const n = (this.queuedByCamera.get(camera) ?? 0) + 1;
    this.queuedByCamera.set(camera, n);
    if (n > this.opts.maxQueue) {
      // This camera's oldest waiting frame: its deadline is nearest, and it is the one a newer frame replaces.
      const oldest = this.queue.find((j) => j.frame.camera === camera)!;
      this.dequeue(oldest);
      if (oldest.timer) clearTimeout(oldest.timer);
      oldest.timer = undefined;
      this.stats.shed++;
      this.log.debug({ camera, frameId: oldest.frame.frameId }, 'queue full: frame shed');
      this.timeout(oldest);
      this.settle(oldest);
    }
  }

  private dequeue(job: Job): boolean {
    const i = this.queue.indexOf(job);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    const camera = job.frame.camera;
    this.queuedByCamera.set(camera, this.queuedByCamera.get(camera)! - 1);
    return true;
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const job = this.pick();
      this.dequeue(job);
      if (job.decided) {
        this.settle(job);
        continue;
      }
      this.lastServed.set(job.frame.camera, ++this.dispatches);
      this.run(job, this.idle.pop()!);
    }
  }

  /** Dispatch order of each camera's last run: the camera served longest ago goes first. */
  private readonly lastServed = new Map<string, number>();
  private dispatches = 0;

  /**
   * The next frame to run. Frames that can no longer be answered in time are dropped from the line
   * first (their timers still give TIMEOUT at the deadline): under overload, running them would only
   * make the frames behind them late too, and plain FIFO then turns every frame into a TIMEOUT. The
   * last waiting frame is always kept (best effort), so a pessimistic estimate never starves the line.
   * Of the rest: the camera served longest ago, and its earliest deadline. With one camera that is
   * earliest-deadline-first; with several it is EDF within each camera and round-robin between
   * them, so a fast camera's backlog can never push a slow camera's frame past its deadline.
   */
  private pick(): Job {
    const now = Date.now();
    for (let i = 0; i < this.queue.length && this.queue.length > 1; ) {
      const job = this.queue[i]!;
      if (!job.decided && job.deadlineAt - now < this.expectedInferMs) {
        this.dequeue(job);
        this.stats.shed++;
        continue;
      }
      i++;
    }
    let best = this.queue[0]!;
    for (const job of this.queue) {
      if ((this.lastServed.get(job.frame.camera) ?? 0) < (this.lastServed.get(best.frame.camera) ?? 0)) best = job;
    }
    return best;
  }

  private run(job: Job, backend: InferenceBackend): void {
    job.running = true;
    const started = performance.now();
    this.times.observe('wait', started - job.queuedAt);
    job.inspection.infer(job.prepared!, backend).then(
      (outputs) => {
        this.idle.push(backend);
        const inferMs = performance.now() - started;
        this.observeInferMs(inferMs);
        this.times.observe('infer', inferMs);
        if (backend.lastSessionMs !== undefined) this.times.observe('session', backend.lastSessionMs);
        let decision: Decision;
        const t0 = performance.now();
        try {
          decision = job.inspection.judge(outputs, job.prepared!);
        } catch (err) {
          decision = errorDecision(err);
        }
        this.times.observe('judge', performance.now() - t0);
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

  /** What a dispatch costs until its result is back: an exponentially weighted mean of recent runs. */
  private expectedInferMs = 0;
  private observeInferMs(ms: number): void {
    this.expectedInferMs = this.expectedInferMs === 0 ? ms : this.expectedInferMs * 0.8 + ms * 0.2;
  }

  private onDeadline(job: Job): void {
    job.timer = undefined;
    if (job.decided) return;
    // Node's timers run on the event loop's cached millisecond clock, so one can fire up to 1 ms
    // before its deadline by Date.now() (seen in CI: a TIMEOUT decided 1 ms early). A TIMEOUT before
    // the deadline would take a part its last millisecond: wait out the rest.
    const left = job.deadlineAt - Date.now();
    if (left > 0) {
      job.timer = setTimeout(() => this.onDeadline(job), left);
      return;
    }
    this.timeout(job);
    // Waiting (or skipped): it will never run, so nothing more will come for it. A frame still being
    // prepared or running settles when that returns.
    if (!job.running && !job.preparing) {
      this.dequeue(job);
      this.settle(job);
    }
  }

  private timeout(job: Job): void {
    if (job.decided) return;
    this.stats.timeouts++;
    job.decided = true;
    job.timedOutSeq = this.decide(job, { verdict: 'TIMEOUT', score: null, defects: [] });
  }

  private finish(job: Job, decision: Decision): void {
    if (job.timer) clearTimeout(job.timer);
    job.timer = undefined;
    // The deadline timer may not have run yet when a busy main thread delivers the result after the
    // deadline: the answer is late all the same, so the frame gets its TIMEOUT and this is the late result.
    if (!job.decided && Date.now() > job.deadlineAt) this.timeout(job);
    if (!job.decided) {
      job.decided = true;
      this.decide(job, decision);
    } else if (job.timedOutSeq !== undefined && job.running) {
      this.stats.late++;
      this.sink.late(job.timedOutSeq, decision, Date.now());
    }
    this.settle(job);
  }

  private decide(job: Job, decision: Decision): number | undefined {
    this.stats.decided++;
    if (decision.verdict === 'ERROR') {
      this.stats.errors++;
      this.log.warn({ event: 'frame.error', camera: job.frame.camera, frameId: job.frame.frameId, code: decision.error?.code, err: decision.error?.message }, 'frame ERROR');
    }
    job.seq = this.sink.decided(job.frame, decision, Date.now(), job.deadlineMs, job.inspection);
    return job.seq;
  }

  /** The frame is done with: its image goes to the sink (the archive may keep it), or is released. */
  private handOver(job: Job): void {
    if (this.sink.settled) this.sink.settled(job.frame, job.seq);
    else job.frame.image.release();
  }

  private settle(job: Job): void {
    if (!this.open.delete(job)) return;
    this.handOver(job);
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
