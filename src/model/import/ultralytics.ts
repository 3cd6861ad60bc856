import { ModelImportError } from '../../errors.js';
import type { OnnxModelInfo } from '../onnx/model-info.js';
import { dimsText, exportInput } from './input.js';
import type { Imported } from './imported.js';

/**
 * Ultralytics writes its export's description into the ONNX metadata_props as Python literals:
 * `names` "{0: 'person', 1: 'bicycle'}", `imgsz` "[640, 640]" (height, width), `task` detect /
 * segment / classify / pose / obb, `end2end` "True" for NMS-free heads (YOLOv10, YOLO26) and
 * `args` "{..., 'nms': True}" when NMS was exported into the graph. Both of the last give the
 * 1 x N x 6 layout (x1, y1, x2, y2, score, class in input pixels).
 */
export function isUltralytics(info: OnnxModelInfo): boolean {
  return info.metadata['author'] === 'Ultralytics' || ('names' in info.metadata && 'task' in info.metadata && 'imgsz' in info.metadata);
}

/** A Python dict literal of int -> str, as Ultralytics writes `names`; indices must run 0..n-1. */
export function parseNames(text: string, file: string): string[] {
  const names: string[] = [];
  const re = /(\d+)\s*:\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/g;
  for (const m of text.matchAll(re)) {
    const name = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
    names[Number(m[1])] = name;
  }
  if (names.length === 0) {
    throw new ModelImportError(`${file}: metadata "names" is not a {0: 'name', ...} list inspectd can read: ${text.slice(0, 120)}`);
  }
  for (let i = 0; i < names.length; i++) {
    if (names[i] === undefined || names[i] === '') throw new ModelImportError(`${file}: metadata "names" has no name for class ${i}`);
  }
  return names;
}

function parseImgsz(text: string | undefined): { height: number; width: number } | null {
  if (!text) return null;
  const nums = [...text.matchAll(/\d+/g)].map((m) => Number(m[0]));
  if (nums.length === 1) return { height: nums[0]!, width: nums[0]! };
  if (nums.length === 2) return { height: nums[0]!, width: nums[1]! };
  return null;
}

const pyTrue = (v: string | undefined) => v !== undefined && /^true$/i.test(v.trim());

export function importUltralytics(info: OnnxModelInfo, file: string, opts: { goodLabel?: string }): Imported {
  const md = info.metadata;
  const task = md['task'] ?? 'detect';
  const labels = parseNames(md['names'] ?? '', file);
  const input = exportInput(info, file);
  const imgsz = parseImgsz(md['imgsz']);
  const height = input.height ?? imgsz?.height;
  const width = input.width ?? imgsz?.width;
  if (!height || !width) throw new ModelImportError(`${file}: the input size is dynamic and metadata "imgsz" does not give it; re-export with a fixed imgsz`);
  if (input.channels !== 3) throw new ModelImportError(`${file}: Ultralytics models take 3-channel RGB; this input has ${input.channels}`);
  const notes: string[] = [`Ultralytics ${md['version'] ?? ''} ${task} export, ${labels.length} classes, ${width}x${height}`.replace('  ', ' ')];
  // Ultralytics' own predictor: RGB, letterbox centred with grey 114, /255, no mean/std.
  const inputSpec = { name: input.name, width, height, colorOrder: 'RGB', layout: input.layout, resize: 'letterbox', padValue: 114, scale: 1 / 255, mean: [0], std: [1] };

  if (task === 'classify') {
    const out = info.outputs[0];
    if (info.outputs.length !== 1 || !out) throw new ModelImportError(`${file}: a classify export has one output; this one has ${info.outputs.length}`);
    const goodLabel = opts.goodLabel ?? (labels.includes('good') ? 'good' : undefined);
    if (!goodLabel || !labels.includes(goodLabel)) {
      throw new ModelImportError(
        `${file}: a classifier's verdict needs to know which class is a good part; none is called "good" (classes: ${labels.join(', ')}): pass --good-label NAME`,
      );
    }
    notes.push('Ultralytics classifiers centre-crop to imgsz; inspectd stretches the whole frame instead (crop the ROI in the camera, or check with eval)');
    return {
      kind: 'ultralytics-classify',
      notes,
      spec: {
        input: { ...inputSpec, resize: 'stretch' },
        // The graph ends in Softmax: probabilities already.
        decoder: { type: 'classification', output: out.name, activation: info.outputProducers[out.name] === 'Softmax' ? 'none' : 'softmax', goodLabel },
        labels,
        thresholds: { default: 0.5, perClass: {}, rule: 'inspectd import: 1 - p(good) >= 0.5 (argmax for two classes); choose it on your own parts with inspectd eval' },
      },
    };
  }
  if (task !== 'detect' && task !== 'segment') {
    throw new ModelImportError(`${file}: Ultralytics task "${task}" is not one inspectd decodes (detect, segment as boxes, classify)`);
  }
  const out = info.outputs[0]!;
  const dims = out.dims;
  const nc = labels.length;
  const end2end = pyTrue(md['end2end']) || /'nms':\s*True/.test(md['args'] ?? '');
  let decoder: Record<string, unknown>;
  if (dims.length === 3 && dims[2] === 6 && (end2end || dims[1] !== 4 + nc)) {
    decoder = { type: 'yolo', output: out.name, layout: 'end2end', candidateThreshold: 0.25, maxDetections: typeof dims[1] === 'number' ? dims[1] : 300 };
    notes.push(`NMS-free output "${out.name}" [${dimsText(dims)}]: rows x1,y1,x2,y2,score,class`);
  } else if (dims.length === 3 && typeof dims[1] === 'number' && dims[1] >= 4 + nc) {
    const extra = dims[1] - 4 - nc;
    if (extra !== 0 && task !== 'segment') {
      throw new ModelImportError(`${file}: output "${out.name}" has ${dims[1]} rows per anchor; a detect head with ${nc} classes has ${4 + nc}`);
    }
    decoder = { type: 'yolo', output: out.name, layout: 'v8', iouThreshold: 0.45, candidateThreshold: 0.25, maxDetections: 300, maskCoefficients: extra };
    notes.push(`v8/11 output "${out.name}" [${dimsText(dims)}]: cx,cy,w,h + ${nc} class scores${extra ? ` + ${extra} mask coefficients (masks not decoded: boxes only)` : ''}, NMS in inspectd`);
  } else {
    throw new ModelImportError(`${file}: output "${out.name}" has shape [${dimsText(dims)}]; expected [1, ${4 + nc}, N] (v8/11) or [1, N, 6] (NMS-free) for ${nc} classes`);
  }
  return {
    kind: end2end ? 'ultralytics-end2end' : 'ultralytics-v8',
    notes,
    spec: {
      input: inputSpec,
      decoder,
      labels,
      thresholds: { default: 0.25, perClass: {}, rule: "inspectd import: Ultralytics' default conf 0.25; choose it on your own parts with inspectd eval" },
    },
  };
}
