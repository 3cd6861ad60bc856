import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ModelSpecError } from '../errors.js';
import { formatZodIssues } from '../config/zod-issues.js';

/**
 * model.json: everything needed to run a model exactly as it was trained. It sits beside the
 * ONNX files it names; relative paths resolve against its folder.
 */
const inputSchema = z
  .object({
    name: z.string().min(1),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** Channel order the network expects. GRAY means one channel. */
    colorOrder: z.enum(['GRAY', 'RGB', 'BGR']),
    layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
    /** stretch: plain resize; letterbox: keep aspect, pad with padValue (Ultralytics style, centred). */
    resize: z.enum(['stretch', 'letterbox']).default('stretch'),
    padValue: z.number().min(0).max(255).default(114),
    /** x' = (x * scale - mean[c]) / std[c], applied after resize, in float32. */
    scale: z.number().positive().default(1 / 255),
    mean: z.array(z.number()).min(1).default([0]),
    std: z.array(z.number().positive()).min(1).default([1]),
  })
  .strict();

const classificationDecoder = z
  .object({
    type: z.literal('classification'),
    output: z.string().min(1),
    /** softmax over logits, sigmoid per label, or none when the graph already ends in probabilities. */
    activation: z.enum(['softmax', 'sigmoid', 'none']),
    goodLabel: z.string().default('good'),
  })
  .strict();

const anomalyMapDecoder = z
  .object({
    type: z.literal('anomaly-map'),
    scoreOutput: z.string().default('pred_score'),
    mapOutput: z.string().default('anomaly_map'),
    /**
     * Anomalib's min-max normalisation metadata: normalised = clamp((x - threshold) / (max - min) + 0.5, 0, 1).
     * Leave out when the model already outputs scores in [0, 1].
     */
    normalization: z
      .object({
        imageThreshold: z.number(),
        pixelThreshold: z.number(),
        min: z.number(),
        max: z.number(),
      })
      .strict()
      .optional(),
    /** Map cells at or above this (normalised) value form defect regions. */
    pixelThreshold: z.number().min(0).max(1).default(0.5),
    defectLabel: z.string().default('defect'),
  })
  .strict();

const yoloDecoder = z
  .object({
    type: z.literal('yolo'),
    output: z.string().min(1),
    /** v8: 1 x (4+nc) x N, cx,cy,w,h in input pixels, no NMS; end2end: 1 x N x 6 (x1,y1,x2,y2,score,class). */
    layout: z.enum(['v8', 'end2end']),
    iouThreshold: z.number().min(0).max(1).default(0.45),
    maxDetections: z.number().int().positive().default(300),
    /** Candidates below this are dropped before NMS (the verdict threshold is separate). */
    candidateThreshold: z.number().min(0).max(1).default(0.25),
    /** v8 only: rows after the class scores (32 mask coefficients in YOLO-seg exports); skipped by the box decoder. */
    maskCoefficients: z.number().int().min(0).default(0),
  })
  .strict();

/**
 * The golden-template kind's classifier: one row of logits per candidate patch, column
 * `nuisanceIndex` meaning "not a defect" (print, dust, residual misregistration) and the others the
 * model's labels in order.
 */
const patchClassifierDecoder = z
  .object({
    type: z.literal('patch-classifier'),
    output: z.string().min(1),
    nuisanceIndex: z.number().int().min(0).default(0),
    /**
     * A region also becomes a candidate of every other class at least this probable: a patch the
     * classifier is unsure about still counts for the right class at a lower score (the AP curve),
     * while the verdict's thresholds see the same top class as before.
     */
    minClassScore: z.number().min(0).max(1).default(0.05),
    /**
     * A candidate whose box overlaps a better-scored candidate of its class at IoU above this is
     * dropped (one defect cut into two blobs, e.g. an open's two sides or a thin blob beside a main
     * one, is reported once). Absent: none dropped.
     */
    nmsIou: z.number().min(0).max(1).optional(),
    /**
     * Golden-template regions carry a topology cell (src/inspect/template/topology.ts). `counts`
     * [nuisance + labels][9] is how often each cell occurred per class on the training patches;
     * each region's probabilities are multiplied by (P(cell | class) / P(cell))^weight (add-one
     * smoothed) and renormalised: what the cell says about the class, tempered because the
     * classifier has partly seen it already. Absent: probabilities as the network gives them.
     */
    topology: z
      .object({
        weight: z.number().min(0).max(2),
        counts: z.array(z.array(z.number().int().min(0)).length(9)).min(2),
        /**
         * Where the cell is counted. Absent: over the classifier's patch window (v0.5.0). Given:
         * over the blob's own box grown by `marginPx` (at least the patch window, about the blob's
         * centre), so a blob larger than the patch is judged whole (a wide short bridges two tracks
         * the patch window cuts off); with `isolate`, only this blob's pixels (its box grown by 2 px)
         * come from the tested frame, the rest of the window from the reference, so a neighbouring
         * blob's change is not counted as this one's. `counts` must be counted the same way.
         */
        window: z
          .object({ marginPx: z.number().int().min(0).max(48), isolate: z.boolean().default(false) })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const decoderSchema = z.discriminatedUnion('type', [classificationDecoder, anomalyMapDecoder, yoloDecoder, patchClassifierDecoder]);

/**
 * A golden-template model: each frame is registered to its reference, compared with tolerance,
 * and its blobs of difference become candidates whose patches the classifier names (or rejects as
 * nuisance). `input` then describes one patch (docs/template-inspection.md).
 */
const templateSchema = z
  .object({
    registration: z
      .object({
        grid: z.number().int().min(2).max(16).default(4),
        windowPx: z.number().int().min(8).default(64),
        minWindowContrast: z.number().min(0).default(20),
        minScore: z.number().min(0).max(1).default(0.6),
        ransacPx: z.number().positive().default(1.5),
        minInliers: z.number().int().min(3).default(6),
        minInlierRatio: z.number().min(0).max(1).default(0.5),
        maxShiftPx: z.number().positive().default(40),
        maxRotationDeg: z.number().positive().default(3),
        maxScaleError: z.number().positive().default(0.03),
      })
      .strict()
      .prefault({}),
    difference: z
      .object({
        tolerancePx: z.number().int().min(0).max(10),
        greyThreshold: z.number().min(0).max(255),
        openPx: z.number().int().min(0).max(10),
        mergePx: z.number().int().min(0).max(30),
        minAreaPx: z.number().int().min(1),
        maxCandidates: z.number().int().positive(),
        borderPx: z.number().int().min(0).default(4),
        /** The thin-defect pass where the main comparison found nothing (src/inspect/template/thinpass.ts). */
        thin: z
          .object({
            greyThreshold: z.number().min(0).max(255),
            openPx: z.number().int().min(0).max(10),
            minAreaPx: z.number().int().min(1),
            maxCandidates: z.number().int().positive(),
            /** Which difference counts: bright (frame brighter than the reference: copper missing, a mousebite or an open) or both. */
            polarity: z.enum(['bright', 'any']).default('any'),
            /** The probability a thin candidate's class needs before it is a candidate at all. */
            minScore: z.number().min(0).max(1).default(0),
          })
          .strict()
          .optional(),
      })
      .strict(),
    /** A candidate's box: the blob's box grown by padPx on each side, at least minSidePx a side (defect boxes as inspectors draw them). */
    box: z.object({ padPx: z.number().min(0), minSidePx: z.number().min(0) }).strict(),
  })
  .strict();

export const modelSpecSchema = z
  .object({
    schema: z.literal(1),
    name: z.string().min(1),
    version: z.string().min(1),
    description: z.string().optional(),
    files: z
      .object({
        fp32: z.string().optional(),
        int8: z.string().optional(),
      })
      .strict()
      .refine((f) => f.fp32 !== undefined || f.int8 !== undefined, 'name at least one of fp32, int8'),
    defaultPrecision: z.enum(['fp32', 'int8']),
    input: inputSchema,
    decoder: decoderSchema,
    labels: z.array(z.string().min(1)).min(1),
    thresholds: z
      .object({
        /** Defect score at or above which a part FAILs. */
        default: z.number().min(0).max(1),
        perClass: z.record(z.string(), z.number().min(0).max(1)).default({}),
        /**
         * A threshold per precision, replacing `default` for that file: an INT8 file's scores sit a
         * little off its FP32 twin's, so the same verdicts can need a slightly different cut.
         * A camera's own `thresholds.default` in the config replaces these too.
         */
        perPrecision: z
          .object({ fp32: z.number().min(0).max(1).optional(), int8: z.number().min(0).max(1).optional() })
          .strict()
          .optional(),
        rule: z.string().optional(),
      })
      .strict(),
    /**
     * The range every score the model emits must stay in. A score outside it means the export is
     * broken (e.g. an INT8 output sharing one scale with pixel boxes) and the model is rejected.
     */
    scoreRange: z.tuple([z.number(), z.number()]).default([0, 1]),
    /**
     * Sample images (relative to model.json) run once when the model opens, so an export whose
     * scores leave scoreRange on real parts is rejected at load, not after it has judged them.
     */
    selfTest: z.array(z.string().min(1)).optional(),
    template: templateSchema.optional(),
  })
  .strict();

export type ModelSpec = z.infer<typeof modelSpecSchema>;
export type DecoderSpec = z.infer<typeof decoderSchema>;
export type InputSpec = z.infer<typeof inputSchema>;
export type TemplateSpec = z.infer<typeof templateSchema>;
export type Precision = 'fp32' | 'int8';

export interface LoadedModelSpec {
  spec: ModelSpec;
  /** Folder of model.json; relative file names resolve against it. */
  dir: string;
  path: string;
}

export function parseModelSpec(raw: unknown, source: string): ModelSpec {
  const result = modelSpecSchema.safeParse(raw);
  if (!result.success) {
    const issues = formatZodIssues(result.error);
    throw new ModelSpecError(`invalid model spec ${source}:\n` + issues.map((i) => `  ${i.path}: ${i.message}`).join('\n'));
  }
  const spec = result.data;
  const channels = spec.input.colorOrder === 'GRAY' ? 1 : 3;
  for (const key of ['mean', 'std'] as const) {
    const n = spec.input[key].length;
    if (n !== 1 && n !== channels) {
      throw new ModelSpecError(`invalid model spec ${source}:\n  input.${key}: expected 1 or ${channels} values, got ${n}`);
    }
  }
  if ((spec.template !== undefined) !== (spec.decoder.type === 'patch-classifier')) {
    throw new ModelSpecError(`invalid model spec ${source}:\n  template: a template model needs decoder.type patch-classifier, and that decoder a template block`);
  }
  if (spec.decoder.type === 'patch-classifier' && spec.decoder.topology && spec.decoder.topology.counts.length !== spec.labels.length + 1) {
    throw new ModelSpecError(`invalid model spec ${source}:\n  decoder.topology.counts: ${spec.decoder.topology.counts.length} rows, expected ${spec.labels.length + 1} (nuisance + labels)`);
  }
  if (spec.template && (spec.input.colorOrder !== 'GRAY' || spec.input.layout !== 'NCHW')) {
    throw new ModelSpecError(`invalid model spec ${source}:\n  input: a template model's patches are NCHW with grey channels (colorOrder GRAY, layout NCHW)`);
  }
  if (!spec.files[spec.defaultPrecision]) {
    throw new ModelSpecError(`invalid model spec ${source}:\n  defaultPrecision: files.${spec.defaultPrecision} is not given`);
  }
  return Object.freeze(spec);
}

export function loadModelSpec(path: string): LoadedModelSpec {
  const abs = resolve(path);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(abs, 'utf8'));
  } catch (err) {
    throw new ModelSpecError(`cannot read model spec ${abs}: ${(err as Error).message}`, { cause: err });
  }
  return { spec: parseModelSpec(raw, abs), dir: dirname(abs), path: abs };
}

/** The ONNX file for a precision, or the model's default; throws if the model lacks it. */
export function modelFile(loaded: LoadedModelSpec, precision?: Precision): { file: string; precision: Precision } {
  const p = precision ?? loaded.spec.defaultPrecision;
  const name = loaded.spec.files[p];
  if (!name) throw new ModelSpecError(`model ${loaded.spec.name} has no ${p} file (files.${p} in ${loaded.path})`);
  return { file: resolve(loaded.dir, name), precision: p };
}

export function inputChannels(input: InputSpec): 1 | 3 {
  return input.colorOrder === 'GRAY' ? 1 : 3;
}
