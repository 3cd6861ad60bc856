import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Decoded } from '../../../src/decode/decoder.js';
import { loadModelSpec } from '../../../src/model/spec.js';
import { decide, rulesFromSpec } from '../../../src/verdict/rules.js';

/**
 * The shipped golden-template model runs at the operating point its out-of-fold choice on the train
 * boards produced (bench/results/template-threshold-rule-train.json, written by
 * tools/template/crossval.ts): the same threshold for every class, so a copper blob the network
 * is only 35% sure of no longer fails a board (v0.2.0's copper threshold of 0.3, chosen on a few
 * hundred train boxes, gave 28 false copper reports on new boards).
 */
const root = join(__dirname, '../../..');
const spec = loadModelSpec(join(root, 'models/deeppcb-template/model.json')).spec;
const choice = JSON.parse(readFileSync(join(root, 'bench/results/template-threshold-rule-train.json'), 'utf8')) as {
  shrunk: { shrink: number; padPx: number; minSidePx: number; thresholds: Record<string, number> };
  nested: Array<{ shrink: number; fScore: number }>;
};

function board(label: string, score: number): Decoded {
  return { score, candidates: [{ label, score, box: [100, 100, 28, 28], areaPx: 60 }] } as Decoded;
}

describe('golden-template model operating point', () => {
  it('model.json carries the thresholds and box rule chosen out of fold, and that choice is the shrink that carried best across groups', () => {
    const rules = rulesFromSpec(spec);
    for (const label of spec.labels) expect(rules.perClass[label] ?? rules.threshold).toBe(choice.shrunk.thresholds[label]);
    expect(spec.template!.box).toEqual({ padPx: choice.shrunk.padPx, minSidePx: choice.shrunk.minSidePx });
    const best = Math.max(...choice.nested.map((r) => r.fScore));
    expect(choice.nested.find((r) => r.shrink === choice.shrunk.shrink)!.fScore).toBe(best);
    expect(spec.version).toBe('0.6.0');
  });

  it('a copper blob at 0.35 passes the board, one at 0.45 fails it, as for every other class', () => {
    const rules = rulesFromSpec(spec);
    for (const label of spec.labels) {
      expect(decide(board(label, 0.35), rules, spec.labels).verdict).toBe('PASS');
      expect(decide(board(label, 0.45), rules, spec.labels).verdict).toBe('FAIL');
    }
  });
});
