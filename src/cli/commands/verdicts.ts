import { dirname, join, resolve } from 'node:path';
import { csvHeader, csvLine, reportRow } from '../../record/report.js';
import { VerdictStore } from '../../record/store.js';
import { EXIT_OK } from '../exit-codes.js';

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

/** Prints the verdict log in seq order, in the same shape as the MQTT payload. */
export function verdictsCommand(
  opts: VerdictsOptions,
  out: NodeJS.WritableStream,
): number {
  const store = new VerdictStore({ path: opts.db, readonly: true });
  try {
    const rows = store.list({ afterSeq: opts.afterSeq, limit: opts.limit, station: opts.station, since: opts.since, until: opts.until, camera: opts.camera, verdicts: opts.verdicts });
    const archiveDir = resolve(opts.archive ?? join(dirname(resolve(opts.db)), 'rejects'));
    if (opts.format === 'csv') out.write(csvHeader());
    for (const row of rows) {
      // The reader went away (`| head`): stop here; main.ts ends the process quietly.
      if ((out as NodeJS.WritableStream & { destroyed?: boolean }).destroyed) break;
      const msg = reportRow(row, archiveDir);
      out.write(opts.format === 'jsonl' ? JSON.stringify(msg) + '\n' : csvLine(msg));
    }
  } finally {
    store.close();
  }
  return EXIT_OK;
}
