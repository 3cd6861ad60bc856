import { performance } from 'node:perf_hooks';
import { errorCode, ModelOutputRangeError, UsageError } from '../../errors.js';
import { scoreDetections, type DetectionScore, type ImageDetections, type ScoredBox } from '../../eval/detection-score.js';
import { DEEPPCB_CLASSES, listBoardSamples, readBoardBoxes } from '../../eval/deeppcb-layout.js';
import { cameraInspection, inspectFrame } from '../../inspect/camera.js';
import { ReferenceBook } from '../../inspect/template/references.js';
import { passesGeometry, rulesFromSpec } from '../../verdict/rules.js';
import { readImageFile } from '../../source/read-image.js';
import { EXIT_BAD_MODEL, EXIT_IMAGES_FAILED, EXIT_USAGE } from '../exit-codes.js';
import type { EvalOptions } from './eval-options.js';
import { describe, openModelForCli } from './infer.js';

/** What a line cares about beside the boxes: every tested board has defects, so each must FAIL. */
export interface BoardVerdicts {
  boards: number;
  fail: number;
  /** Boards with a defect that PASSed. */
  escapes: number;
  /** Boards that got ERROR (a template model's frame that could not be registered), by code. */
  errors: Record<string, number>;
}

export interface BoardEvalResult extends DetectionScore {
  model: { name: string; version: string; precision: string; backend: string };
  parts: BoardVerdicts;
  /** Mean milliseconds per pair: read excluded; prepare (template: register, difference, patches), classifier, rules. */
  msPerBoard: number;
}

/**
 * `inspectd eval -m MODEL_JSON --labels DIR`, DIR in DeepPCB's layout: each `<id>_test.jpg` judged
 * through the camera chain, with its `<id>_temp.jpg` as the reference when the model is a
 * golden-template model, and scored the paper's way (detection-score.ts): AP over every candidate
 * the rules' geometry keeps (ROI, ignore areas, minimum area), F at the reported defects.
 */
export async function evalBoardsCommand(opts: EvalOptions, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  let samples;
  try {
    samples = listBoardSamples(opts.labels);
    if (samples.length === 0) throw new UsageError(`${opts.labels}: no <id>_test.jpg in it or below it`);
  } catch (err) {
    stderr.write(`inspectd eval: ${describe(err)}\n`);
    return EXIT_USAGE;
  }
  const model = await openModelForCli(opts, stderr);
  if (!model) return EXIT_BAD_MODEL;
  const template = model.spec.template;
  const book = template ? new ReferenceBook(template.registration) : undefined;
  const rules = rulesFromSpec(model.spec, opts.threshold === undefined ? {} : { threshold: opts.threshold });
  const inspection = cameraInspection('eval', model, rules, undefined, book);
  const images: ImageDetections[] = [];
  const parts: BoardVerdicts = { boards: 0, fail: 0, escapes: 0, errors: {} };
  let unreadable = 0;
  let ms = 0;
  try {
    for (const [frameId, s] of samples.entries()) {
      let truth;
      let tested;
      try {
        truth = readBoardBoxes(s);
        tested = await readImageFile(s.tested);
        if (book) {
          const ref = await readImageFile(s.template);
          await book.put(s.id, ref);
          ref.release();
        }
      } catch (err) {
        unreadable++;
        tested?.release();
        stderr.write(`inspectd eval: ${s.tested}: ${describe(err)}\n`);
        continue;
      }
      parts.boards++;
      const t0 = performance.now();
      try {
        const { decision, decoded } = await inspectFrame(inspection, { camera: 'eval', frameId, capturedAt: Date.now(), partId: s.id, recipe: s.id, image: tested });
        ms += performance.now() - t0;
        const located = (c: { box?: ScoredBox['box'] }): c is ScoredBox => c.box !== undefined;
        images.push({
          truth,
          candidates: decoded.candidates.filter((c) => passesGeometry(c, rules)).filter(located),
          reported: decision.defects.filter(located),
        });
        if (decision.verdict === 'FAIL') parts.fail++;
        else if (truth.length > 0) parts.escapes++;
      } catch (err) {
        if (err instanceof ModelOutputRangeError) {
          stderr.write(`inspectd eval: ${s.tested}: ${err.message} (${err.code})\n`);
          return EXIT_BAD_MODEL;
        }
        // An ERROR board is rejected by the line (not an escape), but its defects were found by nothing.
        const code = errorCode(err);
        parts.errors[code] = (parts.errors[code] ?? 0) + 1;
        images.push({ truth, candidates: [], reported: [] });
      } finally {
        tested.release();
        book?.remove(s.id);
      }
    }
  } finally {
    book?.close();
    await model.close();
  }
  const score = scoreDetections(images, DEEPPCB_CLASSES);
  const result: BoardEvalResult = { model: model.info, ...score, parts, msPerBoard: parts.boards ? ms / parts.boards : 0 };
  if ((opts.format ?? 'text') === 'json') stdout.write(JSON.stringify(result) + '\n');
  else stdout.write(formatBoardText(result) + (unreadable ? `unreadable samples: ${unreadable}\n` : ''));
  return unreadable > 0 ? EXIT_IMAGES_FAILED : 0;
}

function formatBoardText(r: BoardEvalResult): string {
  const f = (v: number | null) => (v === null ? 'n/a' : v.toFixed(2));
  const lines = [
    `boards: ${r.images}, truth boxes: ${r.truths}, IoU > ${r.iouThreshold}, same class`,
    `mAP: ${f(r.mAP)}  F-score: ${f(r.fScore)} (precision ${f(r.precision)}, recall ${f(r.recall)})`,
    'class        AP      P       R     truth   tp   fp   fn',
    ...Object.entries(r.perClass).map(([label, c]) =>
      `${label.padEnd(10)} ${f(c.ap).padStart(6)} ${f(c.precision).padStart(6)} ${f(c.recall).padStart(6)} ${String(c.truths).padStart(6)} ${String(c.tp).padStart(4)} ${String(c.fp).padStart(4)} ${String(c.fn).padStart(4)}`,
    ),
    `boards FAIL ${r.parts.fail} of ${r.parts.boards}, escapes (a defective board PASSed) ${r.parts.escapes}, ERROR ${JSON.stringify(r.parts.errors)}`,
    `ms per board (judging, read excluded): ${r.msPerBoard.toFixed(1)}`,
    '',
  ];
  return lines.join('\n');
}
