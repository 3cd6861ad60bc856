import { UsageError } from '../errors.js';

/** A labelled row that may name its split (train / val / test) from a `split` column. */
export interface SplitRow {
  split?: string;
}

export interface SplitSelection<T> {
  rows: T[];
  /** Said on stderr: what was evaluated when the file has splits and none was picked. */
  note?: string;
}

function counts(rows: readonly SplitRow[]): string {
  const n = new Map<string, number>();
  for (const r of rows) n.set(r.split ?? '(none)', (n.get(r.split ?? '(none)') ?? 0) + 1);
  return [...n].map(([s, c]) => `${s} ${c}`).join(', ');
}

/**
 * `eval --split NAME`: only the rows of that split (comma-separated names take several). A
 * manifest with a split column evaluated without --split uses every row, train included, which
 * flatters a model; that is said, not done silently.
 */
export function selectSplit<T extends SplitRow>(rows: readonly T[], split: string | undefined, labelsPath: string): SplitSelection<T> {
  const hasSplits = rows.some((r) => r.split !== undefined && r.split !== '');
  if (split === undefined) {
    return hasSplits ? { rows: [...rows], note: `${labelsPath} has a split column (${counts(rows)}); evaluating all ${rows.length} rows: pass --split NAME to evaluate one` } : { rows: [...rows] };
  }
  if (!hasSplits) throw new UsageError(`--split ${split}: labels file ${labelsPath} has no split column (header: path,label,split,...)`);
  const wanted = new Set(split.split(',').map((s) => s.trim()));
  const picked = rows.filter((r) => r.split !== undefined && wanted.has(r.split));
  if (picked.length === 0) throw new UsageError(`--split ${split}: no rows of that split in ${labelsPath} (it has: ${counts(rows)})`);
  return { rows: picked };
}
