import { existsSync } from 'node:fs';
import { archivedMapPath } from '../../archive/reject-archive.js';
import type { VerdictRecorder } from '../../record/recorder.js';
import { csvHeader, csvLine, reportRow, type ReportedVerdict } from '../../record/report.js';
import type { ReviewMark } from '../../record/store.js';
import type { VerdictKind } from '../../verdict/types.js';

/** What the review strip may be filtered by (decidedAt range: since inclusive, until exclusive). */
export interface ReviewFilter {
  camera?: string;
  verdicts?: readonly VerdictKind[];
  since?: number;
  until?: number;
  limit?: number;
}

/** What the page gets for a reject: the reported verdict, the archived image as a URL, not a path. */
export type ReviewedVerdict = Omit<ReportedVerdict, 'image'> & {
  imageUrl: string | null;
  /** The archived defect map as a transparent PNG over the image (FAILs of anomaly-map models). */
  mapUrl: string | null;
};

export type MarkOutcome = { ok: true; verdict: ReviewedVerdict } | { ok: false; status: 404 | 409 | 503; error: string };

export const REJECTS: readonly VerdictKind[] = ['FAIL', 'TIMEOUT', 'ERROR'];
/** The CSV export of a range is bounded so one click cannot hold the main thread for long. */
const CSV_MAX_ROWS = 100_000;

/**
 * The operator page's review of rejects: reads go to the verdict log's read-only connection (WAL
 * readers never wait for the writer), marks go through the writer thread like every other write.
 */
export class ReviewDesk {
  constructor(
    private readonly recorder: VerdictRecorder,
    private readonly archiveDir: string,
    private readonly defaultLimit: number,
  ) {}

  rejects(f: ReviewFilter): ReviewedVerdict[] {
    return this.select(f, Math.min(f.limit ?? this.defaultLimit, this.defaultLimit)).map((v) => this.forPage(v));
  }

  verdict(seq: number): ReviewedVerdict | undefined {
    const row = this.recorder.get(seq);
    return row ? this.forPage(reportRow(row, this.archiveDir)) : undefined;
  }

  /** The archived image's path on this machine, when the archive kept one. */
  imagePath(seq: number): string | undefined {
    const row = this.recorder.get(seq);
    return row ? reportRow(row, this.archiveDir).image : undefined;
  }

  /** The archived defect map's path (an 8-bit grey PNG), when the archive kept one with the image. */
  mapPath(seq: number): string | undefined {
    const row = this.recorder.get(seq);
    if (!row) return undefined;
    const path = archivedMapPath(this.archiveDir, reportRow(row, this.archiveDir));
    return existsSync(path) ? path : undefined;
  }

  /** The shown range as CSV, oldest first, in the columns of `inspectd verdicts --format csv`. */
  csv(f: ReviewFilter): string {
    const rows = this.select(f, CSV_MAX_ROWS).reverse();
    return csvHeader() + rows.map(csvLine).join('');
  }

  /** Marks a reject; resolves once the mark is in the log (or says why not). */
  async mark(seq: number, mark: ReviewMark): Promise<MarkOutcome> {
    const row = this.recorder.get(seq);
    if (!row) return { ok: false, status: 404, error: `no verdict ${seq} in the log (not yet written, or removed by retention)` };
    if (!REJECTS.includes(row.verdict)) return { ok: false, status: 409, error: `verdict ${seq} is ${row.verdict}, not a reject` };
    this.recorder.review(seq, mark, Date.now());
    if (!(await this.recorder.sync())) return { ok: false, status: 503, error: 'the verdict log cannot be written now; the mark is kept and retried' };
    return { ok: true, verdict: this.verdict(seq)! };
  }

  private select(f: ReviewFilter, limit: number): ReportedVerdict[] {
    const verdicts = f.verdicts && f.verdicts.length > 0 ? f.verdicts : REJECTS;
    return this.recorder.recent({ limit, verdicts, camera: f.camera, since: f.since, until: f.until }).map((r) => reportRow(r, this.archiveDir));
  }

  private forPage(v: ReportedVerdict): ReviewedVerdict {
    const { image, ...rest } = v;
    const mapped = image !== undefined && existsSync(archivedMapPath(this.archiveDir, v));
    return { ...rest, imageUrl: image ? `/api/review/${v.seq}/image` : null, mapUrl: mapped ? `/api/review/${v.seq}/map` : null };
  }
}
