import type { InferOptions } from './infer.js';

/** `inspectd eval`'s options, for both of its scorers: verdicts by label (eval.ts) and boxes by DeepPCB layout (eval-boards.ts). */
export interface EvalOptions extends Omit<InferOptions, 'recursive'> {
  /** CSV of `file,label` (paths relative to the CSV's folder), or a folder in DeepPCB's layout (boxes). */
  labels: string;
  format?: 'json' | 'text';
  /** Only the rows of this split (a manifest's `split` column); comma-separated for several. */
  split?: string;
}
