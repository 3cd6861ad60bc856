import { VERDICTS, type VerdictKind, type VerdictMessage } from '../../verdict/types.js';

export type VerdictCounts = Record<VerdictKind, number>;

/** One camera's figures as the operator page shows them. */
export interface CameraFigures {
  shift: VerdictCounts;
  lastHour: VerdictCounts;
  /** PASS share of the shift's verdicts, percent; null before the first verdict. */
  shiftYieldPct: number | null;
  lastHourYieldPct: number | null;
  /** Verdicts per second over the last minute. */
  throughputPerS: number;
  /** Capture → verdict of the recent answered frames (PASS/FAIL/ERROR), binned; TIMEOUTs are the misses. */
  latency: LatencyHistogram;
}

export interface LatencyHistogram {
  binMs: number;
  /** counts[i]: frames answered in [i·binMs, (i+1)·binMs); the last bin also holds everything slower. */
  counts: number[];
  deadlineMs: number;
  /** Of the recent frames: TIMEOUTs (given at the deadline) and answers that still came after it. */
  misses: number;
  frames: number;
}

export interface LineFigures {
  shiftStartedAt: number;
  cameras: Record<string, CameraFigures>;
  total: Omit<CameraFigures, 'latency'>;
}

const MINUTE_MS = 60_000;
const HISTOGRAM_BINS = 40;
/** The histogram shows this many of a camera's most recent frames (≈ 1.5 min at 10 fps). */
const RECENT_FRAMES = 1000;

const zero = (): VerdictCounts => ({ PASS: 0, FAIL: 0, TIMEOUT: 0, ERROR: 0 });

/** The shift that `at` belongs to began at the latest of the day's shift starts (local time) at or before it. */
export function shiftStart(at: number, starts: readonly string[]): number {
  let best = -Infinity;
  for (const hhmm of starts) {
    const [h, m] = hhmm.split(':').map(Number) as [number, number];
    const d = new Date(at);
    d.setHours(h, m, 0, 0);
    let t = d.getTime();
    if (t > at) {
      d.setDate(d.getDate() - 1);
      t = d.getTime();
    }
    best = Math.max(best, t);
  }
  return best;
}

class CameraTally {
  shift = zero();
  /** Per-minute counts of the last hour, keyed by epoch minute. */
  readonly minutes = new Map<number, VerdictCounts>();
  /** Per-second verdict counts of the last minute, keyed by epoch second. */
  readonly seconds = new Map<number, number>();
  /** Ring of recent frames: latency (ms) of an answered frame, or -1 for a deadline miss. */
  readonly recent = new Float64Array(RECENT_FRAMES);
  recentCount = 0;
  recentNext = 0;
  deadlineMs: number;

  constructor(deadlineMs: number) {
    this.deadlineMs = deadlineMs;
  }

  add(verdict: VerdictKind, at: number, n: number): void {
    const minute = Math.floor(at / MINUTE_MS);
    let m = this.minutes.get(minute);
    if (!m) this.minutes.set(minute, (m = zero()));
    m[verdict] += n;
  }
}

/**
 * The line's counters for the operator page: per camera, the shift's and the last hour's verdicts,
 * yield, throughput and a latency histogram of the recent frames with the deadline. Kept in memory
 * from each decided verdict (a few map updates, no allocation per frame beyond a new minute or
 * second), seeded once at start from the log, so no page ever makes the daemon count rows.
 */
export class LineCounters {
  private readonly cams = new Map<string, CameraTally>();
  private shiftStartedAt: number;

  constructor(
    cameras: readonly { name: string; deadlineMs: number }[],
    private readonly shiftStarts: readonly string[],
    now = Date.now(),
  ) {
    for (const c of cameras) this.cams.set(c.name, new CameraTally(c.deadlineMs));
    this.shiftStartedAt = shiftStart(now, shiftStarts);
  }

  /** Where the log's history starts to matter: the shift's start or an hour ago, whichever is earlier. */
  seedSince(now = Date.now()): number {
    return Math.min(this.shiftStartedAt, now - 60 * MINUTE_MS);
  }

  /** Counts from the log, per camera, kind and epoch minute (LineCounters.seedSince() onwards). */
  seed(rows: readonly { camera: string; verdict: VerdictKind; bucket: number; n: number }[]): void {
    for (const r of rows) {
      const cam = this.cams.get(r.camera);
      if (!cam) continue;
      const at = r.bucket * MINUTE_MS;
      if (at >= this.shiftStartedAt) cam.shift[r.verdict] += r.n;
      cam.add(r.verdict, at, r.n);
    }
  }

  observe(msg: VerdictMessage): void {
    const cam = this.cams.get(msg.camera);
    if (!cam) return;
    this.rollShift(msg.decidedAt);
    cam.deadlineMs = msg.deadlineMs;
    if (msg.decidedAt >= this.shiftStartedAt) cam.shift[msg.verdict]++;
    cam.add(msg.verdict, msg.decidedAt, 1);
    const second = Math.floor(msg.decidedAt / 1000);
    cam.seconds.set(second, (cam.seconds.get(second) ?? 0) + 1);
    const missed = msg.verdict === 'TIMEOUT' || msg.latencyMs > msg.deadlineMs;
    cam.recent[cam.recentNext] = missed ? -1 : msg.latencyMs;
    cam.recentNext = (cam.recentNext + 1) % RECENT_FRAMES;
    cam.recentCount = Math.min(cam.recentCount + 1, RECENT_FRAMES);
  }

  /** A new shift began: its counters start from zero. */
  private rollShift(at: number): void {
    const start = shiftStart(at, this.shiftStarts);
    if (start <= this.shiftStartedAt) return;
    this.shiftStartedAt = start;
    for (const cam of this.cams.values()) cam.shift = zero();
  }

  figures(now = Date.now()): LineFigures {
    this.rollShift(now);
    const cameras: Record<string, CameraFigures> = {};
    const total = { shift: zero(), lastHour: zero(), throughputPerS: 0 };
    for (const [name, cam] of this.cams) {
      const lastHour = zero();
      const fromMinute = Math.floor(now / MINUTE_MS) - 59;
      for (const [minute, counts] of cam.minutes) {
        if (minute < fromMinute) cam.minutes.delete(minute);
        else for (const v of VERDICTS) lastHour[v] += counts[v];
      }
      let lastMinute = 0;
      const fromSecond = Math.floor(now / 1000) - 60;
      for (const [second, n] of cam.seconds) {
        if (second < fromSecond) cam.seconds.delete(second);
        else lastMinute += n;
      }
      const throughputPerS = round(lastMinute / 60);
      cameras[name] = { shift: { ...cam.shift }, lastHour, shiftYieldPct: yieldPct(cam.shift), lastHourYieldPct: yieldPct(lastHour), throughputPerS, latency: histogram(cam) };
      for (const v of VERDICTS) {
        total.shift[v] += cam.shift[v];
        total.lastHour[v] += lastHour[v];
      }
      total.throughputPerS = round(total.throughputPerS + throughputPerS);
    }
    return { shiftStartedAt: this.shiftStartedAt, cameras, total: { ...total, shiftYieldPct: yieldPct(total.shift), lastHourYieldPct: yieldPct(total.lastHour) } };
  }
}

/** Bins up to twice the deadline, so the deadline sits mid-chart and what comes close to it shows. */
function histogram(cam: CameraTally): LatencyHistogram {
  const binMs = Math.max(0.5, (2 * cam.deadlineMs) / HISTOGRAM_BINS);
  const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
  let misses = 0;
  for (let i = 0; i < cam.recentCount; i++) {
    const ms = cam.recent[i]!;
    if (ms < 0) misses++;
    else counts[Math.min(HISTOGRAM_BINS - 1, Math.floor(ms / binMs))]!++;
  }
  return { binMs, counts, deadlineMs: cam.deadlineMs, misses, frames: cam.recentCount };
}

function yieldPct(c: VerdictCounts): number | null {
  const n = c.PASS + c.FAIL + c.TIMEOUT + c.ERROR;
  return n === 0 ? null : round((100 * c.PASS) / n);
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
