import { ModelOutputRangeError } from '../errors.js';

/**
 * Float rounding may put a sigmoid or softmax a few ulps past its bound; anything further out
 * is a broken export, not rounding.
 */
const TOLERANCE = 1e-6;

/** Inclusive bounds with rounding slack; a NaN fails both comparisons and so is out of range. */
export interface ScoreBounds {
  lo: number;
  hi: number;
  range: readonly [number, number];
}

export function scoreBounds(range: readonly [number, number]): ScoreBounds {
  return { lo: range[0] - TOLERANCE, hi: range[1] + TOLERANCE, range };
}

export function inRange(v: number, b: ScoreBounds): boolean {
  return v >= b.lo && v <= b.hi;
}

export function outOfRange(output: string, what: string, value: number, b: ScoreBounds): ModelOutputRangeError {
  return new ModelOutputRangeError(
    `model output "${output}": ${what} = ${value} is outside the model's scoreRange [${b.range[0]}, ${b.range[1]}]; ` +
      'the export is broken (e.g. an INT8 output sharing one quantisation scale with pixel boxes), so its verdicts would be nonsense',
  );
}

/** Throws ModelOutputRangeError on the first value of data outside the bounds. */
export function checkAllInRange(output: string, what: string, data: ArrayLike<number>, b: ScoreBounds): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!(v >= b.lo && v <= b.hi)) throw outOfRange(output, `${what}[${i}]`, v, b);
  }
}
