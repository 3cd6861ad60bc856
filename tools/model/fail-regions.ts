/**
 * How often a FAIL's defect boxes land on the real defect: reads `inspectd infer` JSON lines (run
 * with `--threshold 0`, so every part's regions are listed) and the labelled manifest with its
 * masks, re-judges each part at --threshold from its score (a part-judged model's regions do not
 * depend on the threshold), and for each defective part that FAILs reports whether its top box
 * (the highest-scoring region) and any of its boxes contain a mask pixel (>= 128), and FAILs
 * without any box.
 *
 *   node dist/src/cli/main.js infer -m models/magnetic-tile/model.json --threshold 0 --files-from val.txt > val.jsonl
 *   node .train/js/tools/model/fail-regions.js --csv ../shared/data/magnetic-tile/manifest.csv --threshold 0.016611 < val.jsonl
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { opencv } from '../../src/preprocess/opencv.js';

interface Line {
  file: string;
  score: number;
  defects: Array<{ score: number; box?: [number, number, number, number] }>;
}

function arg(k: string, d?: string): string {
  const i = process.argv.indexOf(`--${k}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1]!;
  if (d === undefined) throw new Error(`missing --${k}`);
  return d;
}

function main(): void {
  const csv = resolve(arg('csv'));
  const threshold = Number(arg('threshold'));
  const [head, ...rows] = readFileSync(csv, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  const col = (n: string) => cols.indexOf(n);
  const masks = new Map<string, { mask: string; defect: boolean }>();
  for (const r of rows) {
    const c = r.split(',');
    masks.set(resolve(dirname(csv), c[col('path')]!), { mask: resolve(dirname(csv), c[col('mask_path')]!), defect: c[col('label')] !== 'good' });
  }
  const cv = opencv();
  const lines = readFileSync(0, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
  let fails = 0;
  let boxed = 0;
  let topHits = 0;
  let anyHits = 0;
  let emptyMask = 0;
  const misses: string[] = [];
  let goodFails = 0;
  let goodBoxed = 0;
  for (const l of lines) {
    const m = masks.get(resolve(l.file));
    if (!m || l.score < threshold) continue;
    const boxes = l.defects.filter((d) => d.box).sort((a, b) => b.score - a.score);
    if (!m.defect) {
      goodFails++;
      if (boxes.length > 0) goodBoxed++;
      continue;
    }
    fails++;
    if (boxes.length === 0) continue;
    boxed++;
    const mask = cv.imread(m.mask, cv.IMREAD_GRAYSCALE).threshold(127, 255, cv.THRESH_BINARY);
    if (mask.countNonZero() === 0) {
      emptyMask++;
      continue;
    }
    const hit = (b: [number, number, number, number]) => {
      const x0 = Math.max(0, Math.floor(b[0]));
      const y0 = Math.max(0, Math.floor(b[1]));
      const x1 = Math.min(mask.cols, Math.ceil(b[0] + b[2]));
      const y1 = Math.min(mask.rows, Math.ceil(b[1] + b[3]));
      return x1 > x0 && y1 > y0 && mask.getRegion(new cv.Rect(x0, y0, x1 - x0, y1 - y0)).countNonZero() > 0;
    };
    const top = hit(boxes[0]!.box!);
    if (top) topHits++;
    else misses.push(l.file);
    if (top || boxes.slice(1).some((d) => hit(d.box!))) anyHits++;
  }
  const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : 'n/a');
  const judged = boxed - emptyMask;
  process.stdout.write(
    JSON.stringify(
      {
        threshold,
        defectiveFails: fails,
        defectiveFailsWithBox: boxed,
        withEmptyMask: emptyMask,
        topBoxOnMask: `${topHits} of ${judged} (${pct(topHits, judged)})`,
        anyBoxOnMask: `${anyHits} of ${judged} (${pct(anyHits, judged)})`,
        goodFails,
        goodFailsWithBox: goodBoxed,
        topBoxMisses: misses,
      },
      null,
      2,
    ) + '\n',
  );
}

main();
