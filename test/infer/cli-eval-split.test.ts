import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evalCommand, parseLabels } from '../../src/cli/commands/eval.js';
import { judgeFile } from '../../src/cli/commands/infer.js';
import { selectSplit } from '../../src/eval/split.js';
import { openModel } from '../../src/inspect/model.js';
import { MT_VAL, MT_VAL_SAMPLE, repoRoot, shared } from '../decode/real-models.js';
import { Capture } from './cli-helpers.js';

const MODEL = resolve(repoRoot, 'models/magnetic-tile/model.json');
const MT_TRAIN = resolve(shared, 'data/magnetic-tile/train');
/** Train tiles the val rows must not be mixed with: a good one and a blowhole. */
const TRAIN_ROWS = ['MT_Free/exp0_num_743.jpg', 'MT_Blowhole/exp1_num_108719.jpg'];
let labels: string;
// A threshold that puts tiles on both sides (the shipped 0.0166 passes some defects here and fails some good ones only on the full set).
const THRESHOLD = 0.05;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'inspectd-eval-split-'));
  labels = join(dir, 'manifest.csv');
  const cls = (f: string) => f.split('/')[0]!;
  const rows = [
    ...MT_VAL_SAMPLE.map((s) => `${join(MT_VAL, s.file)},val,${cls(s.file)},${s.defect ? 'defect' : 'good'}`),
    ...TRAIN_ROWS.map((f) => `${join(MT_TRAIN, f)},train,${cls(f)},${f.startsWith('MT_Free') ? 'good' : 'defect'}`),
  ];
  // The magnetic-tile manifest's own column order.
  writeFileSync(labels, ['path,split,class,label', ...rows].join('\n') + '\n');
});

describe('eval --split', () => {
  it('keeps only the named split, says so when a split column is ignored, refuses a split that is not there', () => {
    const rows = parseLabels('path,split,class,label\na.png,train,MT_Free,good\nb.png,val,MT_Crack,defect\n', '/d/m.csv');
    expect(rows[1]).toMatchObject({ file: '/d/b.png', split: 'val', group: 'MT_Crack', label: 'defect', defective: true });
    expect(selectSplit(rows, 'val', 'm.csv').rows.map((r) => r.file)).toEqual(['/d/b.png']);
    expect(selectSplit(rows, undefined, 'm.csv').note).toMatch(/split column \(train 1, val 1\); evaluating all 2 rows/);
    expect(() => selectSplit(rows, 'test', 'm.csv')).toThrow(/no rows of that split.*train 1, val 1/);
    expect(() => selectSplit(parseLabels('a.png,good\n', '/x.csv'), 'val', 'x.csv')).toThrow(/has no split column/);
  });
});

describe('inspectd eval: split, per-class breakdown and the misjudged files', () => {
  it('on magnetic-tile val rows only: counts, per-class rows and the escaped / falsely rejected files match each file\'s own verdict', async () => {
    const out = new Capture();
    const err = new Capture();
    const code = await evalCommand({ model: MODEL, labels, precision: 'fp32', threshold: THRESHOLD, split: 'val', format: 'json' }, out, err);
    expect(code, err.text).toBe(0);
    const r = JSON.parse(out.text);
    expect(r.images).toBe(MT_VAL_SAMPLE.length);
    expect(r.split).toBe('val');

    // Independent truth: each val file judged alone, as infer does.
    const model = await openModel(MODEL, { precision: 'fp32' });
    const truth: Array<{ file: string; cls: string; defect: boolean; verdict: string; score: number }> = [];
    try {
      for (const s of MT_VAL_SAMPLE) {
        const line = await judgeFile(model, join(MT_VAL, s.file), THRESHOLD);
        truth.push({ file: join(MT_VAL, s.file), cls: s.file.split('/')[0]!, defect: s.defect, verdict: line.verdict, score: line.score });
      }
    } finally {
      await model.close();
    }
    const escaped = truth.filter((t) => t.defect && t.verdict === 'PASS').map((t) => t.file).sort();
    const rejected = truth.filter((t) => !t.defect && t.verdict === 'FAIL').map((t) => t.file).sort();
    expect(escaped.length + rejected.length, 'the chosen threshold must misjudge something for this test to mean anything').toBeGreaterThan(0);
    expect(r.escaped.map((m: { file: string }) => m.file).sort()).toEqual(escaped);
    expect(r.falselyRejected.map((m: { file: string }) => m.file).sort()).toEqual(rejected);
    expect(r.escapes.count).toBe(escaped.length);
    expect(r.falseRejects.count).toBe(rejected.length);
    for (const c of r.perClass as Array<{ group: string; images: number; failed: number; kind: string }>) {
      const mine = truth.filter((t) => t.cls === c.group);
      expect(c.images).toBe(mine.length);
      expect(c.failed).toBe(mine.filter((t) => t.verdict === 'FAIL').length);
      expect(c.kind).toBe(c.group === 'MT_Free' ? 'good' : 'defect');
    }
    expect(r.perClass.map((c: { group: string }) => c.group)).toEqual(['MT_Blowhole', 'MT_Break', 'MT_Crack', 'MT_Fray', 'MT_Free', 'MT_Uneven']);
  });

  it('text output lists the classes and files; without --split every row is used and that is said on stderr', async () => {
    const out = new Capture();
    const err = new Capture();
    expect(await evalCommand({ model: MODEL, labels, precision: 'fp32', threshold: THRESHOLD }, out, err)).toBe(0);
    expect(out.text).toMatch(new RegExp(`images: ${MT_VAL_SAMPLE.length + TRAIN_ROWS.length} `));
    expect(out.text).toMatch(/per class \(failed \/ images/);
    expect(out.text).toMatch(/^ {2}MT_Free +good +7 /m);
    expect(out.text).toMatch(/^escaped \(defective, passed\): \d+$/m);
    expect(err.text).toMatch(/split column \(val 12, train 2\); evaluating all 14 rows: pass --split/);
    const bad = new Capture();
    expect(await evalCommand({ model: MODEL, labels, split: 'test' }, new Capture(), bad)).toBe(64);
    expect(bad.text).toMatch(/--split test: no rows/);
  });
});
