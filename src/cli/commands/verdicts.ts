import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { archivedImagePath } from '../../archive/reject-archive.js';
import { VerdictStore, rowToMessage, type VerdictRow } from '../../record/store.js';
import type { VerdictMessage } from '../../verdict/types.js';
import { EXIT_OK } from '../exit-codes.js';
import { csvField } from '../csv.js';

const CSV_COLUMNS = [
  'seq', 'station', 'camera', 'frameId', 'partId', 'verdict', 'score', 'defects', 'capturedAt', 'decidedAt',
  'latencyMs', 'deadlineMs', 'model', 'error', 'image', 'source', 'late',
] as const;

/** Spreadsheets and people read times, not epoch milliseconds: the CSV's timestamps are ISO 8601 (UTC). */
const CSV_TIMES = new Set<string>(['capturedAt', 'decidedAt']);

export interface VerdictsOptions {
  db: string;
  afterSeq: number;
  limit?: number;
  format: 'jsonl' | 'csv';
  station?: string;
  archive?: string;
  /** decidedAt range, epoch ms: since inclusive, until exclusive. */
  since?: number;
  until?: number;
  camera?: string;
  verdicts?: string[];
}

/** The model's answer that came after a TIMEOUT (kept in the log, never published as a second verdict). */
function lateResult(row: VerdictRow): { verdict: string; score: number | null; defects: unknown; decidedAt: number | null } | undefined {
  if (row.late_verdict === null) return undefined;
  return { verdict: row.late_verdict, score: row.late_score, defects: row.late_defects ? (JSON.parse(row.late_defects) as unknown) : [], decidedAt: row.late_decided_at };
}

/** The archived image of a verdict, when the reject archive kept one (the path follows from the row). */
function archivedImage(dir: string, msg: VerdictMessage): string | undefined {
  for (const format of ['jpg', 'png'] as const) {
    const path = archivedImagePath(dir, msg, format);
    if (existsSync(path)) return path;
  }
  return undefined;
}


/** Prints the verdict log in seq order, in the same shape as the MQTT payload. */
export function verdictsCommand(
  opts: VerdictsOptions,
  out: NodeJS.WritableStream,
): number {
  const store = new VerdictStore({ path: opts.db, readonly: true });
  try {
    const rows = store.list({ afterSeq: opts.afterSeq, limit: opts.limit, station: opts.station, since: opts.since, until: opts.until, camera: opts.camera, verdicts: opts.verdicts });
    if (opts.format === 'csv') out.write(CSV_COLUMNS.join(',') + '\n');
    for (const row of rows) {
      // The reader went away (`| head`): stop here; main.ts ends the process quietly.
      if ((out as NodeJS.WritableStream & { destroyed?: boolean }).destroyed) break;
      const msg: VerdictMessage & { image?: string; late?: ReturnType<typeof lateResult> } = rowToMessage(row);
      const image = archivedImage(resolve(opts.archive ?? join(dirname(resolve(opts.db)), 'rejects')), msg);
      if (image) msg.image = image;
      const late = lateResult(row);
      if (late) msg.late = late;
      if (opts.format === 'jsonl') out.write(JSON.stringify(msg) + '\n');
      else {
        const fields = msg as unknown as Record<string, unknown>;
        out.write(CSV_COLUMNS.map((c) => csvField(CSV_TIMES.has(c) ? new Date(fields[c] as number).toISOString() : fields[c])).join(',') + '\n');
      }
    }
  } finally {
    store.close();
  }
  return EXIT_OK;
}
