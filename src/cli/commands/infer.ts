import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { errorCode, errorMessage, InspectdError, ModelOutputRangeError } from '../../errors.js';
import { openModel, readImage, type OpenModel } from '../../infer/model.js';
import type { Precision } from '../../model/spec.js';
import { decide, rulesFromSpec } from '../../verdict/rules.js';
import type { Defect, VerdictKind } from '../../verdict/types.js';

/** Exit codes of the model commands: 1 = some images failed, 2 = the model itself is unusable. */
export const EXIT_IMAGES_FAILED = 1;
export const EXIT_BAD_MODEL = 2;
export const EXIT_USAGE = 64;

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff']);

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

/**
 * Image files named on the command line: files as given, directories listed (recursively only
 * when asked) for image extensions, sorted so output order is stable. Paths that do not exist
 * are returned as problems, not thrown, so the other inputs still run.
 */
export function listImages(inputs: readonly string[], recursive = false): { files: string[]; problems: string[] } {
  const files: string[] = [];
  const problems: string[] = [];
  const walk = (dir: string): void => {
    const found: string[] = [];
    const subdirs: string[] = [];
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) subdirs.push(p);
      else if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(p);
    }
    files.push(...found.sort());
    if (recursive) for (const d of subdirs.sort()) walk(d);
  };
  for (const input of inputs) {
    let isDir: boolean;
    try {
      isDir = statSync(input).isDirectory();
    } catch {
      problems.push(`${input}: no such file or directory`);
      continue;
    }
    if (isDir) walk(input);
    else files.push(input);
  }
  return { files, problems };
}

/** Opens the model or reports why not; undefined means "exit EXIT_BAD_MODEL". */
export async function openModelForCli(opts: InferOptions, stderr: NodeJS.WritableStream): Promise<OpenModel | undefined> {
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
  const { decoded } = await model.inferImage(image);
  const decision = decide(decoded, rulesFromSpec(model.spec, threshold === undefined ? {} : { threshold }), model.spec.labels);
  return {
    file,
    verdict: decision.verdict,
    score: decision.score ?? decoded.score,
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
