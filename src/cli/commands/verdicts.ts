import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { archivedImagePath } from '../../archive/reject-archive.js';
import { VerdictStore, rowToMessage } from '../../record/store.js';
import type { VerdictMessage } from '../../verdict/types.js';
import { EXIT_OK } from '../exit-codes.js';

const CSV_COLUMNS = [
  'seq', 'station', 'camera', 'frameId', 'partId', 'verdict', 'score', 'defects', 'capturedAt', 'decidedAt',
  'latencyMs', 'deadlineMs', 'model', 'error', 'image', 'source',
] as const;

/** The archived image of a verdict, when the reject archive kept one (the path follows from the row). */
function archivedImage(dir: string, msg: VerdictMessage): string | undefined {
  for (const format of ['jpg', 'png'] as const) {
    const path = archivedImagePath(dir, msg, format);
    if (existsSync(path)) return path;
  }
  return undefined;
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Prints the verdict log in seq order, in the same shape as the MQTT payload. */
export function verdictsCommand(
  opts: { db: string; afterSeq: number; limit?: number; format: 'jsonl' | 'csv'; station?: string; archive?: string },
  out: NodeJS.WritableStream,
): number {
  const store = new VerdictStore({ path: opts.db, readonly: true });
  try {
    const rows = store.list({ afterSeq: opts.afterSeq, limit: opts.limit, station: opts.station });
    if (opts.format === 'csv') out.write(CSV_COLUMNS.join(',') + '\n');
    for (const row of rows) {
      // The reader went away (`| head`): stop here; main.ts ends the process quietly.
      if ((out as NodeJS.WritableStream & { destroyed?: boolean }).destroyed) break;
      const msg: VerdictMessage & { image?: string } = rowToMessage(row);
      const image = archivedImage(resolve(opts.archive ?? join(dirname(resolve(opts.db)), 'rejects')), msg);
      if (image) msg.image = image;
      if (opts.format === 'jsonl') out.write(JSON.stringify(msg) + '\n');
      else out.write(CSV_COLUMNS.map((c) => csvField((msg as unknown as Record<string, unknown>)[c])).join(',') + '\n');
    }
  } finally {
    store.close();
  }
  return EXIT_OK;
}
