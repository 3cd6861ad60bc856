import { existsSync } from 'node:fs';
import { archivedImagePath } from '../archive/reject-archive.js';
import { csvField } from '../util/csv.js';
import type { VerdictMessage } from '../verdict/types.js';
import { rowToMessage, type ReviewMark, type VerdictRow } from './store.js';

/**
 * A verdict as people read it back (`inspectd verdicts`/`export`, the operator page's review and its
 * CSV): the MQTT payload plus what only the log keeps: the archived image, the late result of a
 * TIMEOUT, and a reviewer's mark. One shape for every reader, so a CSV from the page and one from
 * the CLI have the same columns.
 */
export interface ReportedVerdict extends VerdictMessage {
  /** The archived image's path, when the reject archive kept one. */
  image?: string;
  late?: LateResult;
  review?: { mark: ReviewMark; at: number };
}

/** The model's answer that came after a TIMEOUT (kept in the log, never published as a second verdict). */
export interface LateResult {
  verdict: string;
  score: number | null;
  defects: unknown;
  decidedAt: number | null;
}

export const CSV_COLUMNS = [
  'seq', 'station', 'camera', 'frameId', 'partId', 'verdict', 'score', 'defects', 'capturedAt', 'decidedAt',
  'latencyMs', 'deadlineMs', 'model', 'error', 'image', 'source', 'late', 'review', 'reviewedAt',
] as const;

/** Spreadsheets and people read times, not epoch milliseconds: the CSV's timestamps are ISO 8601 (UTC). */
const CSV_TIMES = new Set<string>(['capturedAt', 'decidedAt', 'reviewedAt']);

export function reportRow(row: VerdictRow, archiveDir: string): ReportedVerdict {
  const msg: ReportedVerdict = rowToMessage(row);
  const image = archivedImage(archiveDir, msg);
  if (image) msg.image = image;
  if (row.late_verdict !== null) {
    msg.late = { verdict: row.late_verdict, score: row.late_score, defects: row.late_defects ? (JSON.parse(row.late_defects) as unknown) : [], decidedAt: row.late_decided_at };
  }
  // Logs older than schema 4 read through a read-only connection have no review column at all.
  if (row.review) msg.review = { mark: row.review, at: row.reviewed_at ?? 0 };
  return msg;
}

/** The archived image of a verdict, when the reject archive kept one (the path follows from the row). */
function archivedImage(dir: string, msg: VerdictMessage): string | undefined {
  for (const format of ['jpg', 'png'] as const) {
    const path = archivedImagePath(dir, msg, format);
    if (existsSync(path)) return path;
  }
  return undefined;
}

export function csvHeader(): string {
  return CSV_COLUMNS.join(',') + '\n';
}

export function csvLine(v: ReportedVerdict): string {
  const fields: Record<string, unknown> = { ...v, review: v.review?.mark, reviewedAt: v.review?.at };
  return CSV_COLUMNS.map((c) => csvField(CSV_TIMES.has(c) && fields[c] !== undefined ? new Date(fields[c] as number).toISOString() : fields[c])).join(',') + '\n';
}
