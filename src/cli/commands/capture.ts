import { appendFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../config/load.js';
import type { CameraConfig, Config } from '../../config/schema.js';
import { errorCode, errorMessage } from '../../errors.js';
import { createLogger } from '../../log.js';
import { packageRoot } from '../../paths.js';
import { modelView } from '../../inspect/camera.js';
import { plausibilityRules, type PlausibilityRules } from '../../inspect/plausibility.js';
import { loadModelSpec, type InputSpec } from '../../model/spec.js';
import { opencv } from '../../preprocess/opencv.js';
import { createSource } from '../../source/create.js';
import type { Frame, FrameSource } from '../../source/frame.js';
import { csvField } from '../../util/csv.js';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_USAGE } from '../exit-codes.js';

export interface CaptureOptions {
  config: string;
  out: string;
  /** Frames to keep per camera. */
  count: number;
  camera?: string;
  /** Keep a frame only when at least this long after the last one kept from its camera. */
  everyMs: number;
  /** Give up after this long even if fewer frames were kept (a camera that stays down). */
  maxSeconds?: number;
}

/** The manifest beside the images: one row per kept frame, in the order they were written. */
export const CAPTURE_MANIFEST = 'frames.csv';
const HEADER = 'path,camera,frameId,capturedAt,partId,source,truth,width,height\n';

interface CameraCapture {
  cam: CameraConfig;
  source: FrameSource;
  input: InputSpec;
  plausibility: PlausibilityRules;
  kept: number;
  lastKeptAt: number;
  busy: boolean;
  skippedImplausible: number;
  finished: boolean;
}

/**
 * `inspectd capture -c CONFIG --out DIR --count N [--camera NAME] [--every MS]`: samples frames
 * from the configured cameras while the line runs, spread over time (one every --every ms per
 * camera, so a run of the same part in front of the lens is not N copies of it), and writes each
 * exactly as the daemon would judge it: the same plausibility check and the same resize and colour
 * conversion (src/inspect/camera.ts modelView), at the model's input size, lossless PNG. These
 * are INT8 calibration images (`inspectd tensors` on them gives the daemon's tensors bit for bit)
 * and images to label. The cameras run from the config directly: the daemon's MQTT verdicts
 * carry no pixels. Frames the daemon would answer with ERROR are not kept (counted on stderr).
 */
export async function captureCommand(opts: CaptureOptions, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  let cfg: Config;
  try {
    cfg = loadConfig(opts.config);
  } catch (err) {
    stderr.write(`inspectd capture: ${errorMessage(err)}\n`);
    return EXIT_CONFIG;
  }
  const cams = opts.camera ? cfg.cameras.filter((c) => c.name === opts.camera) : cfg.cameras;
  if (cams.length === 0) {
    stderr.write(`inspectd capture: no camera "${opts.camera}" in ${opts.config} (cameras: ${cfg.cameras.map((c) => c.name).join(', ')})\n`);
    return EXIT_USAGE;
  }
  const outDir = resolve(opts.out);
  mkdirSync(outDir, { recursive: true });
  if (readdirSync(outDir).length > 0) {
    stderr.write(`inspectd capture: ${outDir} is not empty; capture into a new folder so the manifest lists exactly its images\n`);
    return EXIT_USAGE;
  }
  const manifest = join(outDir, CAPTURE_MANIFEST);
  writeFileSync(manifest, HEADER);
  // Camera trouble (a drop, a reconnect) is worth seeing on stderr; the per-frame chatter is not.
  const log = createLogger({ level: 'warn', format: 'json' }, process.stderr);
  const cv = opencv();

  const captures: CameraCapture[] = cams.map((cam) => {
    // Config paths are resolved against the file when read; one still relative is a package default.
    const spec = loadModelSpec(resolve(packageRoot(), (cam.model ?? cfg.model).path)).spec;
    return {
      cam,
      source: createSource(cam, log.child({ component: 'camera', camera: cam.name })),
      input: spec.input,
      plausibility: plausibilityRules(cam),
      kept: 0,
      lastKeptAt: -Infinity,
      busy: false,
      skippedImplausible: 0,
      finished: false,
    };
  });
  const done = () => captures.every((c) => c.kept >= opts.count || c.finished);
  let wake: () => void = () => undefined;
  const finishedAll = new Promise<void>((r) => (wake = r));
  const check = () => {
    if (done()) wake();
  };
  let failure: Error | undefined;

  async function keep(c: CameraCapture, frame: Frame): Promise<void> {
    try {
      const view = await modelView(frame, c.input, c.plausibility);
      // PNG stores BGR for colour: an RGB-order model view is swapped back so the file shows the part as it is.
      const mat = c.input.colorOrder === 'RGB' ? view.mat.cvtColor(cv.COLOR_RGB2BGR) : view.mat;
      const name = `${c.cam.name}-${String(c.kept).padStart(5, '0')}-f${frame.frameId}.png`;
      cv.imwrite(join(outDir, name), mat);
      if (mat !== view.mat) mat.release();
      view.mat.release();
      c.kept++;
      c.lastKeptAt = frame.capturedAt;
      const truth = frame.truth ? (frame.truth.defective ? frame.truth.kinds.join('+') || 'defect' : 'good') : '';
      appendFileSync(manifest, [name, c.cam.name, frame.frameId, new Date(frame.capturedAt).toISOString(), frame.partId ?? '', frame.source ?? '', truth, c.input.width, c.input.height].map(csvField).join(',') + '\n');
    } catch (err) {
      // What the daemon would answer ERROR for is no calibration image.
      c.skippedImplausible++;
      if (c.skippedImplausible <= 5) stderr.write(`inspectd capture: ${c.cam.name} frame ${frame.frameId} not kept: ${errorMessage(err)} (${errorCode(err)})\n`);
    } finally {
      frame.image.release();
      c.busy = false;
      check();
    }
  }

  for (const c of captures) {
    await c.source.start(
      (frame) => {
        if (c.kept >= opts.count || c.busy || frame.capturedAt - c.lastKeptAt < opts.everyMs) {
          frame.image.release();
          return;
        }
        c.busy = true;
        void keep(c, frame);
      },
      (err) => {
        failure ??= err;
        wake();
      },
      {
        finished: () => {
          c.finished = true;
          check();
        },
      },
    );
  }
  const stopSignal = () => wake();
  process.once('SIGINT', stopSignal);
  process.once('SIGTERM', stopSignal);
  const timer = opts.maxSeconds ? setTimeout(() => wake(), opts.maxSeconds * 1000) : undefined;
  try {
    await finishedAll;
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', stopSignal);
    process.off('SIGTERM', stopSignal);
    await Promise.all(captures.map((c) => c.source.stop()));
    // A frame being written when the stop came still lands in the manifest.
    while (captures.some((c) => c.busy)) await new Promise((r) => setTimeout(r, 10));
  }
  for (const c of captures) {
    stdout.write(`${c.cam.name}: ${c.kept} frame(s) at ${c.input.width}x${c.input.height} ${c.input.colorOrder}${c.skippedImplausible ? `, ${c.skippedImplausible} not kept (would be ERROR)` : ''}\n`);
  }
  stdout.write(`wrote ${manifest}\n`);
  if (failure) {
    stderr.write(`inspectd capture: camera failed: ${errorMessage(failure)} (${errorCode(failure)})\n`);
    return EXIT_FAILURE;
  }
  const short = captures.filter((c) => c.kept < opts.count);
  if (short.length > 0) {
    stderr.write(`inspectd capture: fewer than ${opts.count} frames from ${short.map((c) => `${c.cam.name} (${c.kept})`).join(', ')}\n`);
    return EXIT_FAILURE;
  }
  return 0;
}

