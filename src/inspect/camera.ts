import { performance } from 'node:perf_hooks';
import type { InferenceBackend, TensorMap } from '../infer/backend.js';
import type { Mat } from '../preprocess/opencv.js';
import { resizeForModel, type InputTransform } from '../preprocess/preprocess.js';
import type { InputSpec } from '../model/spec.js';
import type { Frame } from '../source/frame.js';
import { decide, rulesAt, type VerdictRules } from '../verdict/rules.js';
import type { Decision, ModelInfo } from '../verdict/types.js';
import type { ModelInput } from './model-input.js';
import type { OpenModel } from './model.js';
import { plausibleImage, type PlausibilityRules } from './plausibility.js';
import type { Decoded } from '../decode/decoder.js';
import { TemplateReferenceError } from '../errors.js';
import type { ReferenceBook } from './template/references.js';
import { prepareAgainstReference } from './template/stage.js';

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
   * Frame → model input: the OpenCV-made tensor, or a copy of the frame's pixels when the model's
   * backends preprocess frames themselves (OpenModel.takesFrames). The frame's own image stays:
   * the scheduler hands it on when the frame settles (the reject archive keeps a FAIL's image), or
   * releases it.
   */
  prepare(frame: Frame): Promise<ModelInput>;
  /** One inference of a prepared frame on one backend of the model's pool; rejects, never throws. */
  infer(input: ModelInput, backend: InferenceBackend): Promise<TensorMap>;
  /** The model's outputs as located, scored candidates, before the rules; may throw → ERROR. */
  decode(outputs: TensorMap, input: ModelInput): Decoded;
  /** decode + verdict rules; may throw (bad output, out-of-range score) → ERROR. */
  judge(outputs: TensorMap, input: ModelInput): Decision;
}

/**
 * Without plausibility rules (the CLI's single images) a frame goes to the model unchecked. A
 * golden-template model (model.json `template`) needs the camera's references: each frame is then
 * registered to its recipe's reference and the classifier judges the patches of its differences.
 */
export function cameraInspection(camera: string, model: OpenModel, rules: VerdictRules, plausibility?: PlausibilityRules, references?: ReferenceBook): CameraInspection {
  const labels = model.spec.labels;
  if (model.spec.template && !references) {
    throw new TemplateReferenceError(`camera ${camera}: model ${model.spec.name} is a golden-template model and the camera names no references (template.references)`);
  }
  const prepareImage = (frame: Frame, image: Mat): Promise<ModelInput> =>
    references ? prepareAgainstReference(image, references.forFrame(frame), model.spec) : model.prepare(image);
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
        return await prepareImage(frame, judged);
      } finally {
        if (judged !== frame.image) judged.release();
      }
    },
    infer: (input, backend) => model.run(input, backend),
    decode: (outputs, p) => model.decode(outputs, p),
    judge: (outputs, p) => decide(inspection.decode(outputs, p), rulesAt(inspection.rules, model.info.precision), labels),
  };
  return inspection;
}

/** One image through a camera's chain on one session, outside the scheduler: `infer`, `eval`, tools. */
export async function inspectImage(inspection: CameraInspection, image: Mat): Promise<Decision> {
  return (await inspectFrame(inspection, { camera: inspection.camera, frameId: 0, capturedAt: Date.now(), partId: null, image })).decision;
}

/**
 * One frame through the chain (plausibility, when the camera has rules, included), with what the
 * rules were given: `eval` scores every candidate for AP and the reported defects for F, and the
 * bench reads the stage times.
 */
export async function inspectFrame(inspection: CameraInspection, frame: Frame): Promise<{ decision: Decision; decoded: Decoded; prepared: ModelInput; inferMs: number }> {
  const prepared = await inspection.prepare(frame);
  const t0 = performance.now();
  const outputs = await inspection.infer(prepared, inspection.model.backend);
  const inferMs = performance.now() - t0;
  const decoded = inspection.decode(outputs, prepared);
  return { decision: decide(decoded, rulesAt(inspection.rules, inspection.model.info.precision), inspection.model.spec.labels), decoded, prepared, inferMs };
}

/**
 * The image a camera's frame is judged on: the frame itself, or (with plausibility rules) the
 * checked and possibly converted copy; a frame that cannot be a part throws here, ERROR with its
 * code, before any model sees it, exactly as in prepare() above.
 */
async function withJudgedImage<T>(frame: Frame, plausibility: PlausibilityRules | undefined, use: (image: Mat) => Promise<T>): Promise<T> {
  let judged = frame.image;
  try {
    if (plausibility) judged = plausibleImage(frame, plausibility);
    return await use(judged);
  } finally {
    if (judged !== frame.image) judged.release();
  }
}

/**
 * What the model sees of a frame before normalisation: the same plausibility check and the same
 * resize and colour conversion as the daemon's chain, as an 8-bit Mat (in the model's colour
 * order). `inspectd capture` writes these for INT8 calibration and labelling; normalising one
 * (toTensor) gives exactly the daemon's tensor.
 */
export function modelView(frame: Frame, input: InputSpec, plausibility?: PlausibilityRules): Promise<{ mat: Mat; transform: InputTransform }> {
  return withJudgedImage(frame, plausibility, async (image) => {
    const view = await resizeForModel(image, input);
    // resizeForModel may hand back the caller's own Mat (already at model size); the view must outlive the frame.
    return view.mat === image ? { mat: image.copy(), transform: view.transform } : view;
  });
}
