import type { VerdictKind } from '../verdict/types.js';

/** One judged image, with where it came from and its class (the manifest's `class` column, else its label). */
export interface JudgedFile {
  file: string;
  defective: boolean;
  /** The class the breakdown groups by: MT_Blowhole, scratch, good. */
  group: string;
  verdict: VerdictKind;
  score: number;
}

export interface ClassRow {
  group: string;
  images: number;
  /** Whether the class is of defective parts (a class holding both is reported as mixed). */
  kind: 'good' | 'defect' | 'mixed';
  failed: number;
  /** Wrong verdicts: defective passed (escape) or good failed (false reject). */
  wrong: number;
  meanScore: number;
}

export interface Misjudged {
  file: string;
  group: string;
  score: number;
}

/** Failed / images per class: which kind of defect escapes, which good parts are rejected. */
export function perClass(judged: readonly JudgedFile[]): ClassRow[] {
  const rows = new Map<string, { images: number; defect: number; failed: number; wrong: number; sum: number }>();
  for (const j of judged) {
    const r = rows.get(j.group) ?? { images: 0, defect: 0, failed: 0, wrong: 0, sum: 0 };
    r.images++;
    if (j.defective) r.defect++;
    if (j.verdict === 'FAIL') r.failed++;
    if ((j.verdict === 'FAIL') !== j.defective) r.wrong++;
    r.sum += j.score;
    rows.set(j.group, r);
  }
  return [...rows]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, r]) => ({
      group,
      images: r.images,
      kind: r.defect === 0 ? 'good' : r.defect === r.images ? 'defect' : 'mixed',
      failed: r.failed,
      wrong: r.wrong,
      meanScore: r.sum / r.images,
    }));
}

/** The files behind the escape and false-reject counts, highest score first (closest to the threshold first for escapes). */
export function misjudged(judged: readonly JudgedFile[]): { escaped: Misjudged[]; falselyRejected: Misjudged[] } {
  const pick = (j: JudgedFile): Misjudged => ({ file: j.file, group: j.group, score: j.score });
  return {
    escaped: judged.filter((j) => j.defective && j.verdict !== 'FAIL').map(pick).sort((a, b) => b.score - a.score),
    falselyRejected: judged.filter((j) => !j.defective && j.verdict === 'FAIL').map(pick).sort((a, b) => a.score - b.score),
  };
}

export function formatBreakdownText(classes: readonly ClassRow[], wrong: ReturnType<typeof misjudged>): string {
  const w = Math.max(5, ...classes.map((c) => c.group.length));
  const lines = ['per class (failed / images; wrong = escapes for defect classes, false rejects for good ones):'];
  lines.push(`  ${'class'.padEnd(w)}  kind    images  failed  wrong  mean score`);
  for (const c of classes) {
    lines.push(`  ${c.group.padEnd(w)}  ${c.kind.padEnd(6)}  ${String(c.images).padStart(6)}  ${String(c.failed).padStart(6)}  ${String(c.wrong).padStart(5)}  ${c.meanScore.toFixed(4)}`);
  }
  const list = (title: string, items: readonly Misjudged[]) => {
    lines.push(`${title}: ${items.length}`);
    for (const m of items) lines.push(`  ${m.score.toFixed(6)}  ${m.group}  ${m.file}`);
  };
  list('escaped (defective, passed)', wrong.escaped);
  list('falsely rejected (good, failed)', wrong.falselyRejected);
  return lines.join('\n') + '\n';
}
