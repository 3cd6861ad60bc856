import type { TensorMap } from '../infer/backend.js';
import type { Mat } from '../preprocess/opencv.js';
import type { PreparedInput } from '../preprocess/preprocess.js';
import type { Frame } from '../source/frame.js';
import { decide, type VerdictRules } from '../verdict/rules.js';
import type { Decision, ModelInfo } from '../verdict/types.js';
import type { OpenModel } from './model.js';
import { plausibleImage, type PlausibilityRules } from './plausibility.js';

/**
 * One camera's inspection: its model (whose backend pool it may share with other cameras) and its
 * verdict rules. The scheduler calls the three steps and owns the deadline between them.
 */
export interface CameraInspection {
  readonly camera: string;
  readonly model: OpenModel;
  readonly modelInfo: ModelInfo;
  /** The rules judge() applies; a live config reload replaces them between two frames. */
  rules: VerdictRules;
  /**
   * Frame → model tensor. The frame's own pixels stay: the scheduler hands them on when the frame
   * settles (the reject archive keeps a FAIL's image), or releases them.
   */
  prepare(frame: Frame): Promise<PreparedInput>;
  toInputs(prepared: PreparedInput): TensorMap;
  /** decode + verdict rules; may throw (bad output, out-of-range score) → ERROR. */
  judge(outputs: TensorMap, prepared: PreparedInput): Decision;
}

/** Without plausibility rules (the CLI's single images) a frame goes to the model unchecked. */
export function cameraInspection(camera: string, model: OpenModel, rules: VerdictRules, plausibility?: PlausibilityRules): CameraInspection {
  const labels = model.spec.labels;
  const inspection: CameraInspection = {
    camera,
    model,
    modelInfo: model.info,
    rules,
    prepare: async (frame) => {
      let judged = frame.image;
      try {
        // A frame that cannot be a part throws here: ERROR with its code, before any model sees it.
        if (plausibility) judged = plausibleImage(frame, plausibility);
        return await model.prepare(judged);
      } finally {
        if (judged !== frame.image) judged.release();
      }
    },
    toInputs: (p) => model.toInputs(p),
    judge: (outputs, p) => decide(model.decode(outputs, p), inspection.rules, labels),
  };
  return inspection;
}

/** One image through a camera's chain on one session, outside the scheduler: `infer`, `eval`, tools. */
export async function inspectImage(inspection: CameraInspection, image: Mat): Promise<Decision> {
  const model = inspection.model;
  const prepared = await model.prepare(image);
  const outputs = await model.backend.run(inspection.toInputs(prepared));
  return inspection.judge(outputs, prepared);
}
