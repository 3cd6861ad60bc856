import type { Logger } from 'pino';
import type { Mat } from '../../preprocess/opencv.js';
import type { DefectMap, ModelInfo, VerdictMessage } from '../../verdict/types.js';
import type { VerdictOutput } from '../output.js';
import { LineCounters, type LineFigures } from './line-counters.js';
import { ShownFrames } from './shown-frames.js';

/** A page watching the line (one Server-Sent Events stream). */
export interface LiveWatcher {
  /** Sends one event; false when the page's connection is backed up (that update is skipped). */
  send(event: string, data: string): boolean;
  close(): void;
}

export interface LiveCamera {
  name: string;
  model: ModelInfo;
  deadlineMs: number;
}

/** What each push carries: every camera's latest verdict and frame, the counters and the line's state. */
export interface LiveUpdate {
  at: number;
  station: string;
  cameras: {
    name: string;
    model: ModelInfo;
    deadlineMs: number;
    /** The verdict of the frame shown (or the latest one, while no frame is kept). */
    verdict: VerdictMessage | null;
    /** Where the page fetches the shown frame's JPEG; null while none is kept. */
    frameUrl: string | null;
    /** The shown frame's defect map as a transparent PNG covering the frame (FAILs of anomaly-map models); else null. */
    mapUrl: string | null;
  }[];
  figures: LineFigures;
  /** Camera, broker, storage and model state (/readyz's checks), when the service has attached them. */
  status: unknown;
}

export interface LiveFeedOptions {
  station: string;
  cameras: readonly LiveCamera[];
  updateHz: number;
  shiftStarts: readonly string[];
  /** Verdict counts from the log since a time, per camera, kind and minute: the counters' start. */
  history: (since: number) => readonly { camera: string; verdict: VerdictMessage['verdict']; bucket: number; n: number }[];
}

/**
 * The operator page's live view as an output beside MQTT: it hears every verdict (counters), keeps
 * the newest frame of each camera only while a page is watching, and pushes an update to every page
 * at `page.updateHz` whatever the frame rate. Frames are swapped in at that rate and encoded only
 * when a page fetches one (ShownFrames), so a 60 fps camera costs the page two JPEGs a second, and
 * no page at all costs nothing but the counters.
 */
export class LiveFeed implements VerdictOutput {
  readonly name = 'operator-page';
  readonly counters: LineCounters;
  readonly frames = new ShownFrames();
  private readonly watchers = new Set<LiveWatcher>();
  private readonly latest = new Map<string, VerdictMessage>();
  /** The newest settled frame of each camera since the last push, with its verdict. */
  private readonly waiting = new Map<string, { msg: VerdictMessage; image: Mat; map: DefectMap | undefined }>();
  /** The verdict of the frame each camera shows. */
  private readonly shownVerdict = new Map<string, VerdictMessage>();
  private timer: NodeJS.Timeout | undefined;
  private status: (() => unknown) | undefined;
  skipped = 0;

  constructor(
    private readonly opts: LiveFeedOptions,
    private readonly log: Logger,
  ) {
    this.counters = new LineCounters(opts.cameras, opts.shiftStarts);
  }

  start(): void {
    try {
      this.counters.seed(this.opts.history(this.counters.seedSince()));
    } catch (err) {
      // Counters from zero are a smaller harm than a line that does not start.
      this.log.warn({ err: (err as Error).message }, 'could not count the shift so far from the log; the page counts from now');
    }
    this.timer = setInterval(() => this.push(), Math.round(1000 / this.opts.updateHz));
    this.timer.unref();
  }

  /** Camera, broker and storage state, read at each push (the service's health checks). */
  attachStatus(status: () => unknown): void {
    this.status = status;
  }

  watch(w: LiveWatcher): () => void {
    this.watchers.add(w);
    // The first picture at once, not at the next tick.
    if (!w.send('update', JSON.stringify(this.update()))) this.skipped++;
    return () => {
      this.watchers.delete(w);
      if (this.watchers.size === 0) this.releaseWaiting();
    };
  }

  get watching(): number {
    return this.watchers.size;
  }

  decided(msg: VerdictMessage): void {
    this.counters.observe(msg);
    this.latest.set(msg.camera, msg);
  }

  /** Whether the sink should hand this camera's settled frame over (only while a page watches). */
  wantsFrame(): boolean {
    return this.watchers.size > 0;
  }

  /** A settled frame with its verdict; the feed owns the image from here and releases it. */
  offerFrame(image: Mat, msg: VerdictMessage, map?: DefectMap): void {
    if (this.watchers.size === 0 || image.empty) {
      image.release();
      return;
    }
    this.waiting.get(msg.camera)?.image.release();
    this.waiting.set(msg.camera, { msg, image, map });
  }

  committed(): void {}
  storageHealthy(): void {}
  async drain(): Promise<boolean> {
    return true;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers.clear();
    this.releaseWaiting();
    this.frames.clear();
  }

  private releaseWaiting(): void {
    for (const w of this.waiting.values()) w.image.release();
    this.waiting.clear();
  }

  private push(): void {
    if (this.watchers.size === 0) return;
    for (const [camera, w] of this.waiting) {
      this.frames.show(camera, w.msg.seq, w.image, w.map);
      this.shownVerdict.set(camera, w.msg);
    }
    this.waiting.clear();
    const data = JSON.stringify(this.update());
    for (const w of this.watchers) if (!w.send('update', data)) this.skipped++;
  }

  update(now = Date.now()): LiveUpdate {
    return {
      at: now,
      station: this.opts.station,
      cameras: this.opts.cameras.map((c) => {
        const seq = this.frames.seq(c.name);
        return {
          name: c.name,
          model: c.model,
          deadlineMs: this.latest.get(c.name)?.deadlineMs ?? c.deadlineMs,
          verdict: (seq !== undefined ? this.shownVerdict.get(c.name) : undefined) ?? this.latest.get(c.name) ?? null,
          frameUrl: seq !== undefined ? `/api/live/frame/${encodeURIComponent(c.name)}?seq=${seq}` : null,
          mapUrl: seq !== undefined && this.frames.hasMap(c.name) ? `/api/live/map/${encodeURIComponent(c.name)}?seq=${seq}` : null,
        };
      }),
      figures: this.counters.figures(now),
      status: this.status?.() ?? null,
    };
  }
}
