import { ModelImportError } from '../../errors.js';
import type { OnnxModelInfo } from '../onnx/model-info.js';
import { dimsText, exportInput } from './input.js';
import type { Imported } from './imported.js';

export interface ClassifierOptions {
  labels?: string[];
  goodLabel?: string;
  mean?: number[];
  std?: number[];
}

/**
 * A plain whole-part classifier: one output of one value per class ([1, K] or [K]), or a single
 * defect logit/probability ([1, 1]) read as p(defect) over labels good + defect. The class names
 * and the input normalisation are not in a plain ONNX file; they come from the options (or a
 * `names` metadata entry), and the activation from the op that ends the graph.
 */
export function importClassifier(info: OnnxModelInfo, file: string, opts: ClassifierOptions): Imported {
  const input = exportInput(info, file);
  if (!input.width || !input.height) throw new ModelImportError(`${file}: the input size is dynamic; re-export the classifier with a fixed image size`);
  const out = info.outputs[0]!;
  const values = out.dims.reduce<number | null>((n, d) => (n === null || typeof d !== 'number' ? null : n * d), 1);
  const batchOk = out.dims.length === 1 || (out.dims.length === 2 && (out.dims[0] === 1 || typeof out.dims[0] === 'string'));
  if (!batchOk || values === null || (out.dims.length === 2 && typeof out.dims[1] !== 'number')) {
    throw new ModelImportError(`${file}: output "${out.name}" has shape [${dimsText(out.dims)}]; a classifier has one value per class ([1, K])`);
  }
  const k = out.dims.length === 2 ? (out.dims[1] as number) : values;
  const goodLabel = opts.goodLabel ?? 'good';
  const labels = opts.labels ?? (k === 1 ? [goodLabel, 'defect'] : undefined);
  if (!labels) {
    throw new ModelImportError(`${file}: a plain classifier does not name its ${k} classes; pass --labels a,b,... in output order (one of them the good part, --good-label, default "good")`);
  }
  const expected = k === 1 ? 2 : k;
  if (labels.length !== expected) {
    throw new ModelImportError(`${file}: output "${out.name}" has ${k} value(s), so ${expected} labels, but --labels gives ${labels.length} (${labels.join(', ')})`);
  }
  if (!labels.includes(goodLabel)) {
    throw new ModelImportError(`${file}: none of the labels (${labels.join(', ')}) is the good part "${goodLabel}"; pass --good-label NAME`);
  }
  const producer = info.outputProducers[out.name];
  const probabilities = producer === 'Softmax' || producer === 'Sigmoid';
  const activation = probabilities ? 'none' : k === 1 ? 'sigmoid' : 'softmax';
  const notes = [`classifier output "${out.name}" [${dimsText(out.dims)}] ends in ${producer}: activation ${activation}; labels ${labels.join(', ')}`];
  const channels = input.channels;
  const mean = opts.mean ?? [0];
  const std = opts.std ?? [1];
  if (!opts.mean || !opts.std) {
    notes.push('WARNING: a plain ONNX file does not record its input normalisation; assumed x/255 (mean 0, std 1). Pass --mean/--std as the model was trained');
  }
  return {
    kind: 'classifier',
    notes,
    spec: {
      input: { name: input.name, width: input.width, height: input.height, colorOrder: channels === 1 ? 'GRAY' : 'RGB', layout: input.layout, resize: 'stretch', scale: 1 / 255, mean, std },
      decoder: { type: 'classification', output: out.name, activation, goodLabel },
      labels,
      thresholds: { default: 0.5, perClass: {}, rule: 'inspectd import: defect probability 0.5; choose it on your own parts with inspectd eval' },
    },
  };
}
