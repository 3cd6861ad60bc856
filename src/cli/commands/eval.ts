import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ModelOutputRangeError, UsageError } from '../../errors.js';
import type { VerdictKind } from '../../verdict/types.js';
import { EXIT_BAD_MODEL, EXIT_IMAGES_FAILED, EXIT_USAGE } from '../exit-codes.js';
import { describe, judgeFile, openModelForCli } from './infer.js';
import type { EvalOptions } from './eval-options.js';
import { formatBreakdownText, misjudged, perClass, type JudgedFile } from '../../eval/breakdown.js';
import { selectSplit } from '../../eval/split.js';
import { rulesFromSpec, thresholdFor } from '../../verdict/rules.js';

export type { EvalOptions } from './eval-options.js';

export interface LabelledImage {
  file: string;
  defective: boolean;
  label: string;
  /** The `split` column, when the file has one. */
  split?: string;
  /** The `class` column, when the file has one besides its label (MT_Blowhole beside `defect`). */
  group?: string;
}

export interface Judged {
  defective: boolean;
  verdict: VerdictKind;
  score: number;
}

export interface EvalMetrics {
  images: number;
  good: number;
  defective: number;
  accuracy: number | null;
  /** rows: truth good, truth defect; columns: PASS, FAIL. */
  confusion: { good: { PASS: number; FAIL: number }; defect: { PASS: number; FAIL: number } };
  /** Defective parts passed. */
  escapes: { count: number; rate: number | null };
  /** Good parts failed. */
  falseRejects: { count: number; rate: number | null };
  /** Of the part score against the truth; null when only one class is present. */
  auroc: number | null;
  /** F1 of "defective" at the verdict threshold; null when undefined (no positives at all). */
  f1: number | null;
}

const FILE_COLUMNS = ['file', 'filename', 'image', 'path'];
const LABEL_COLUMNS = ['label', 'class', 'truth', 'kind', 'kinds', 'defective', 'defect'];
const GOOD_VALUES = new Set(['good', 'ok', 'pass', 'none', 'false', '0', 'no', '']);

/**
 * `file,label` rows, with or without a header. The label `good` means a good part and anything
 * else a defective one. A header names the columns, which also reads the synthetic camera's
 * labels.csv (a `defective` true/false or 0/1 column, or an empty defect-kind list for good parts).
 */
export function parseLabels(text: string, labelsPath: string): LabelledImage[] {
  const rows = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map(splitCsvLine);
  if (rows.length === 0) throw new UsageError(`labels file ${labelsPath} has no rows`);
  const head = rows[0]!.map((c) => c.trim().toLowerCase());
  let fileCol = 0;
  let labelCol = 1;
  let body = rows;
  const namedFile = head.findIndex((c) => FILE_COLUMNS.includes(c));
  if (namedFile >= 0) {
    fileCol = namedFile;
    labelCol = LABEL_COLUMNS.map((n) => head.indexOf(n)).find((i) => i >= 0) ?? -1;
    if (labelCol < 0) throw new UsageError(`labels file ${labelsPath}: header has no label column (one of ${LABEL_COLUMNS.join(', ')})`);
    body = rows.slice(1);
  }
  const splitCol = namedFile >= 0 ? head.indexOf('split') : -1;
  const classCol = namedFile >= 0 ? head.indexOf('class') : -1;
  const base = dirname(resolve(labelsPath));
  return body.map((r, i) => {
    const file = r[fileCol]?.trim();
    const raw = r[labelCol]?.trim();
    if (!file || raw === undefined) {
      throw new UsageError(`labels file ${labelsPath} line ${i + 1 + rows.length - body.length}: expected file,label`);
    }
    const label = raw === '' ? 'good' : raw;
    const row: LabelledImage = { file: isAbsolute(file) ? file : resolve(base, file), label, defective: !GOOD_VALUES.has(label.toLowerCase()) };
    const split = splitCol >= 0 ? r[splitCol]?.trim() : undefined;
    if (split) row.split = split;
    const group = classCol >= 0 && classCol !== labelCol ? r[classCol]?.trim() : undefined;
    if (group) row.group = group;
    return row;
  });
}

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Mann-Whitney AUROC with ties counted half: P(score of a defective part > score of a good one). */
export function auroc(scores: readonly number[], positive: readonly boolean[]): number | null {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[idx[k]!] = avg;
    i = j + 1;
  }
  let nPos = 0;
  let rankSum = 0;
  positive.forEach((p, i) => {
    if (p) {
      nPos++;
      rankSum += ranks[i]!;
    }
  });
  const nNeg = scores.length - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export function computeMetrics(judged: readonly Judged[]): EvalMetrics {
  const confusion = { good: { PASS: 0, FAIL: 0 }, defect: { PASS: 0, FAIL: 0 } };
  for (const j of judged) {
    const row = j.defective ? confusion.defect : confusion.good;
    if (j.verdict === 'FAIL') row.FAIL++;
    else row.PASS++;
  }
  const good = confusion.good.PASS + confusion.good.FAIL;
  const defective = confusion.defect.PASS + confusion.defect.FAIL;
  const n = good + defective;
  const tp = confusion.defect.FAIL;
  const fp = confusion.good.FAIL;
  const fn = confusion.defect.PASS;
  return {
    images: n,
    good,
    defective,
    accuracy: n > 0 ? (tp + confusion.good.PASS) / n : null,
    confusion,
    escapes: { count: fn, rate: defective > 0 ? fn / defective : null },
    falseRejects: { count: fp, rate: good > 0 ? fp / good : null },
    auroc: auroc(
      judged.map((j) => j.score),
      judged.map((j) => j.defective),
    ),
    f1: 2 * tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : null,
  };
}

export function formatMetricsText(m: EvalMetrics, threshold: number): string {
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(2)}%`);
  const num = (v: number | null) => (v === null ? 'n/a' : v.toFixed(4));
  const w = Math.max(6, String(m.images).length + 2);
  return [
    `images: ${m.images} (good ${m.good}, defective ${m.defective}), threshold ${threshold}`,
    `accuracy: ${pct(m.accuracy)}`,
    'confusion (rows truth, cols verdict):',
    `  ${''.padEnd(8)}${'PASS'.padStart(w)}${'FAIL'.padStart(w)}`,
    `  ${'good'.padEnd(8)}${String(m.confusion.good.PASS).padStart(w)}${String(m.confusion.good.FAIL).padStart(w)}`,
    `  ${'defect'.padEnd(8)}${String(m.confusion.defect.PASS).padStart(w)}${String(m.confusion.defect.FAIL).padStart(w)}`,
    `escapes (defective passed): ${m.escapes.count} (${pct(m.escapes.rate)} of defective)`,
    `false rejects (good failed): ${m.falseRejects.count} (${pct(m.falseRejects.rate)} of good)`,
    `AUROC: ${num(m.auroc)}`,
    `F1 at threshold: ${num(m.f1)}`,
    '',
  ].join('\n');
}

/**
 * `inspectd eval -m MODEL_JSON --labels FILE [--precision fp32|int8] [--threshold X] [--format json|text]`
 * Judges every labelled image as `infer` would and prints accuracy, the confusion matrix, escapes,
 * false rejects, AUROC and F1. Unreadable images are reported and left out of the metrics (exit 1).
 */
export async function evalCommand(opts: EvalOptions, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  // A folder is a detection set in DeepPCB's layout, scored by boxes (eval-boards.ts).
  if (isDirectory(opts.labels)) return (await import('./eval-boards.js')).evalBoardsCommand(opts, stdout, stderr);
  let labelled: LabelledImage[];
  try {
    const selection = selectSplit(parseLabels(readFileSync(opts.labels, 'utf8'), opts.labels), opts.split, opts.labels);
    labelled = selection.rows;
    if (selection.note) stderr.write(`inspectd eval: ${selection.note}\n`);
  } catch (err) {
    stderr.write(`inspectd eval: ${describe(err)}\n`);
    return EXIT_USAGE;
  }
  const model = await openModelForCli(opts, stderr);
  if (!model) return EXIT_BAD_MODEL;
  const judged: JudgedFile[] = [];
  const errors: Array<{ file: string; error: string }> = [];
  try {
    for (const item of labelled) {
      try {
        const line = await judgeFile(model, item.file, opts.threshold);
        judged.push({ file: item.file, group: item.group ?? item.label, defective: item.defective, verdict: line.verdict, score: line.score });
      } catch (err) {
        if (err instanceof ModelOutputRangeError) {
          stderr.write(`inspectd eval: ${item.file}: ${err.message} (${err.code})\n`);
          return EXIT_BAD_MODEL;
        }
        errors.push({ file: item.file, error: describe(err) });
        stderr.write(`inspectd eval: ${item.file}: ${describe(err)}\n`);
      }
    }
  } finally {
    await model.close();
  }
  const metrics = computeMetrics(judged);
  const threshold = opts.threshold ?? thresholdFor(rulesFromSpec(model.spec), model.info.precision);
  const classes = perClass(judged);
  const wrong = misjudged(judged);
  if ((opts.format ?? 'text') === 'json') {
    stdout.write(
      JSON.stringify({ model: model.info, threshold, ...(opts.split ? { split: opts.split } : {}), ...metrics, perClass: classes, ...wrong, errors: errors.length }) + '\n',
    );
  } else {
    stdout.write(
      formatMetricsText(metrics, threshold) + formatBreakdownText(classes, wrong) + (errors.length ? `unreadable images: ${errors.length}\n` : ''),
    );
  }
  return errors.length > 0 ? EXIT_IMAGES_FAILED : 0;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
