import { copyFileSync, createWriteStream, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ReportedVerdict } from '../../record/report.js';
import { EXIT_OK, EXIT_USAGE } from '../exit-codes.js';
import { verdictsCommand, type VerdictsOptions } from './verdicts.js';

export interface ExportOptions extends Omit<VerdictsOptions, 'format' | 'afterSeq'> {
  /** FILE.csv: the shift report alone; DIR: verdicts.csv plus the kept images and a relabelling sheet. */
  out: string;
  images: boolean;
}

/**
 * `inspectd export`: the shift report for a quality engineer, and, with --images, the rejects'
 * images with a sheet to relabel them (`file,verdict,label`) that the model toolchain's exporters read,
 * so false rejects and escapes go back into training.
 */
export async function exportCommand(opts: ExportOptions, stderr: NodeJS.WritableStream): Promise<number> {
  const toCsvFile = opts.out.toLowerCase().endsWith('.csv');
  if (toCsvFile && opts.images) {
    stderr.write('inspectd export: --images needs --out DIR (a folder for verdicts.csv and the images)\n');
    return EXIT_USAGE;
  }
  const dir = toCsvFile ? undefined : opts.out;
  if (dir) mkdirSync(dir, { recursive: true });
  const csvPath = dir ? join(dir, 'verdicts.csv') : opts.out;
  const csv = createWriteStream(csvPath);
  verdictsCommand({ ...opts, afterSeq: 0, format: 'csv' }, csv);
  await new Promise<void>((res, rej) => csv.end((err?: Error | null) => (err ? rej(err) : res())));
  let images = 0;
  if (dir && opts.images) {
    // The same selection again, as JSON lines, to find each row's image.
    const lines: string[] = [];
    const sink = { write: (chunk: string) => (lines.push(...chunk.split('\n').filter(Boolean)), true) } as unknown as NodeJS.WritableStream;
    verdictsCommand({ ...opts, afterSeq: 0, format: 'jsonl' }, sink);
    mkdirSync(join(dir, 'images'), { recursive: true });
    const sheet = ['file,verdict,seq,camera,label,review'];
    for (const line of lines) {
      const v = JSON.parse(line) as ReportedVerdict;
      if (!v.image) continue;
      const name = basename(v.image);
      copyFileSync(v.image, join(dir, 'images', name));
      // label starts as the verdict the line gave, or as the reviewer's mark on the operator page (a
      // false reject is a good part); the engineer corrects what is left (good / defect).
      const label = v.review ? (v.review.mark === 'false-reject' ? 'good' : 'defect') : v.verdict === 'PASS' ? 'good' : 'defect';
      sheet.push(`images/${name},${v.verdict},${v.seq},${v.camera},${label},${v.review?.mark ?? ''}`);
      images++;
    }
    const s = createWriteStream(join(dir, 'labels.csv'));
    s.end(sheet.join('\n') + '\n');
    await new Promise<void>((res) => s.once('finish', () => res()));
  }
  stderr.write(`inspectd export: ${csvPath}${dir && opts.images ? `, ${images} image(s) and labels.csv in ${dir}` : ''}\n`);
  return EXIT_OK;
}
