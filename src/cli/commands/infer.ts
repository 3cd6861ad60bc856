import { performance } from 'node:perf_hooks';
import { errorCode, errorMessage, InspectdError, ModelOutputRangeError } from '../../errors.js';
import { openModel, type OpenModel } from '../../inspect/model.js';
import { readImage } from '../../source/read-image.js';
import type { Precision } from '../../model/spec.js';
import { rulesFromSpec } from '../../verdict/rules.js';
import { cameraInspection, inspectImage } from '../../inspect/camera.js';
import type { Defect, VerdictKind } from '../../verdict/types.js';
import { listImages } from '../../source/image-files.js';

import { modelArgProblem } from '../model-arg.js';
import { EXIT_BAD_MODEL, EXIT_IMAGES_FAILED, EXIT_USAGE } from '../exit-codes.js';

export interface InferOptions {
  /** Path of model.json. */
  model: string;
  precision?: Precision;
  recursive?: boolean;
  /** Overrides model.json's default threshold (per-class thresholds still apply). */
  threshold?: number;
  intraOpThreads?: number;
}

/** One line of `inspectd infer` output. */
export interface InferLine {
  file: string;
  verdict: VerdictKind;
  score: number;
  defects: Defect[];
  width: number;
  height: number;
  /** Read + preprocess + inference + decode + rules, in milliseconds. */
  ms: number;
}

/** Opens the model or reports why not; undefined means "exit EXIT_BAD_MODEL". */
export async function openModelForCli(opts: InferOptions, stderr: NodeJS.WritableStream): Promise<OpenModel | undefined> {
  const problem = modelArgProblem(opts.model);
  if (problem) {
    stderr.write(`inspectd: ${problem}\n`);
    return undefined;
  }
  try {
    return await openModel(opts.model, { precision: opts.precision, intraOpThreads: opts.intraOpThreads });
  } catch (err) {
    stderr.write(`inspectd: cannot use model ${opts.model}: ${errorMessage(err)} (${errorCode(err)})\n`);
    return undefined;
  }
}

/** Reads, infers and judges one image file. */
export async function judgeFile(model: OpenModel, file: string, threshold?: number): Promise<InferLine> {
  const t0 = performance.now();
  const image = await readImage(file);
  const inspection = cameraInspection('infer', model, rulesFromSpec(model.spec, threshold === undefined ? {} : { threshold }));
  const decision = await inspectImage(inspection, image);
  return {
    file,
    verdict: decision.verdict,
    score: decision.score ?? 0,
    defects: decision.defects.map(roundDefect),
    width: image.cols,
    height: image.rows,
    ms: round(performance.now() - t0, 2),
  };
}

/**
 * `inspectd infer -m MODEL_JSON [--precision fp32|int8] [--recursive] [--threshold X] IMAGE_OR_DIR...`
 * One JSON line per image on stdout. An unreadable image is reported on stderr and the rest still
 * run (exit 1 at the end); an unusable model stops at once (exit 2).
 */
export async function inferCommand(
  inputs: readonly string[],
  opts: InferOptions,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
): Promise<number> {
  if (inputs.length === 0) {
    stderr.write('inspectd infer: name at least one image or directory\n');
    return EXIT_USAGE;
  }
  const model = await openModelForCli(opts, stderr);
  if (!model) return EXIT_BAD_MODEL;
  let failed = 0;
  try {
    const { files, problems } = listImages(inputs, opts.recursive);
    for (const p of problems) stderr.write(`inspectd infer: ${p}\n`);
    failed += problems.length;
    for (const file of files) {
      try {
        stdout.write(JSON.stringify(await judgeFile(model, file, opts.threshold)) + '\n');
      } catch (err) {
        // Scores out of range mean the model, not the image, is broken: stop rather than go on.
        if (err instanceof ModelOutputRangeError) {
          stderr.write(`inspectd infer: ${file}: ${err.message} (${err.code})\n`);
          return EXIT_BAD_MODEL;
        }
        failed++;
        stderr.write(`inspectd infer: ${file}: ${describe(err)}\n`);
      }
    }
  } finally {
    await model.close();
  }
  return failed > 0 ? EXIT_IMAGES_FAILED : 0;
}

export function describe(err: unknown): string {
  const cause = err instanceof InspectdError && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${errorMessage(err)}${cause} (${errorCode(err)})`;
}

function roundDefect(d: Defect): Defect {
  return d.box ? { ...d, box: d.box.map((v) => round(v, 2)) as Defect['box'] } : d;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
