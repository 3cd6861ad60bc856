import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { Box, TruthBox } from './detection-score.js';

/** DeepPCB's class ids 1-6 (0 is background and never appears), named as its README names them. */
export const DEEPPCB_CLASSES = ['open', 'short', 'mousebite', 'spur', 'copper', 'pin-hole'] as const;

/** One tested/template pair of a DeepPCB-layout folder. */
export interface BoardSample {
  id: string;
  /** The folder the sample sits in, relative to the root: DeepPCB's board group (`group00041`). */
  group: string;
  tested: string;
  template: string;
  annotation: string;
}

/**
 * Every `<id>_test.jpg` under root (searched recursively) with its `<id>_temp.jpg` and `<id>.txt`
 * beside it, in path order. A tested image without its template or boxes is a usage error: a
 * silently smaller set would score higher than the data deserves.
 */
export function listBoardSamples(root: string): BoardSample[] {
  const out: BoardSample[] = [];
  const walk = (dir: string, rel: string): void => {
    const names = readdirSync(dir).sort();
    for (const name of names) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        walk(path, rel ? `${rel}/${name}` : name);
        continue;
      }
      const m = /^(.+)_test\.jpg$/i.exec(name);
      if (!m) continue;
      const id = m[1]!;
      const sample = { id, group: rel, tested: path, template: join(dir, `${id}_temp.jpg`), annotation: join(dir, `${id}.txt`) };
      for (const f of [sample.template, sample.annotation]) {
        try {
          statSync(f);
        } catch {
          throw new UsageError(`${path}: its ${f} is missing (DeepPCB layout: <id>_test.jpg, <id>_temp.jpg, <id>.txt side by side)`);
        }
      }
      out.push(sample);
    }
  };
  walk(root, '');
  return out;
}

/**
 * DeepPCB boxes: one `x1 y1 x2 y2 type` per line, fields separated by spaces (the files) or commas
 * (the source's readme), corners inclusive-exclusive in tested-image pixels, type 1-6. Returned as
 * [x, y, w, h] with the class name.
 */
export function parseBoardBoxes(text: string, source: string): TruthBox[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((line, i) => {
      const f = line.split(/[\s,]+/).map(Number);
      const [x1, y1, x2, y2, type] = f;
      if (f.length !== 5 || f.some((v) => !Number.isFinite(v)) || x2! <= x1! || y2! <= y1!) {
        throw new UsageError(`${source} line ${i + 1}: expected "x1 y1 x2 y2 type" with x1 < x2 and y1 < y2, got "${line}"`);
      }
      const label = DEEPPCB_CLASSES[type! - 1];
      if (!label) throw new UsageError(`${source} line ${i + 1}: type ${type} is not a DeepPCB class (1-6)`);
      return { label, box: [x1!, y1!, x2! - x1!, y2! - y1!] as Box };
    });
}

export function readBoardBoxes(sample: BoardSample): TruthBox[] {
  return parseBoardBoxes(readFileSync(sample.annotation, 'utf8'), sample.annotation);
}
