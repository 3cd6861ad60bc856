/** Percentile of an ascending array (nearest rank); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function ascending(xs: Iterable<number>): number[] {
  return [...xs].sort((a, b) => a - b);
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
