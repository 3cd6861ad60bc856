import type { CameraConfig } from '../config/schema.js';
import { FrameError, FrameImplausibleError } from '../errors.js';
import { opencv, type Mat } from '../preprocess/opencv.js';
import type { Frame } from '../source/frame.js';
import { convertForPipeline, describeFormat } from '../source/read-image.js';

/**
 * Whether a frame can be a capture of a part at all, decided before any model sees it. A model
 * asked about a black frame from a capped lens, a grey one from a dead sensor or a 1x1 placeholder
 * answers something, often PASS; the line must get ERROR (reject, fail-safe) instead.
 */
export interface PlausibilityRules {
  camera: string;
  /** The size the camera is set up to deliver; undefined accepts any size of at least minSidePx. */
  size?: { width: number; height: number };
  /** 1 (mono) or 3 (BGR); undefined accepts either. */
  channels?: 1 | 3;
  minSidePx: number;
  /** Scale 16-bit to 8-bit and drop alpha instead of refusing such frames. */
  convert: boolean;
  minBrightness: number;
  maxBrightness: number;
  minContrast: number;
}

/** A camera's rules: its `plausibility` block, with size and channels the source is configured for filled in. */
export function plausibilityRules(cam: CameraConfig): PlausibilityRules {
  const p = cam.plausibility;
  const s = cam.source;
  const configured = s.type === 'synthetic' || (s.type === 'opencv' && s.width !== undefined && s.height !== undefined) ? s : undefined;
  const width = p.width ?? configured?.width;
  const height = p.height ?? configured?.height;
  return {
    camera: cam.name,
    size: width !== undefined && height !== undefined ? { width, height } : undefined,
    channels: p.channels ?? (s.type === 'synthetic' ? s.channels : undefined),
    minSidePx: p.minSidePx,
    convert: p.convert,
    minBrightness: p.minBrightness,
    maxBrightness: p.maxBrightness,
    minContrast: p.minContrast,
  };
}

const CV_8U = 0;
/**
 * Brightness and contrast need a sample, not every pixel: mono frames up to 640x512 are measured
 * whole (~20 us), larger or colour frames on every step-th pixel (nearest-neighbour) to about
 * 320x256, colour as its luminance. OpenCV's meanStdDev on 3 channels is slow: 0.35 ms on a whole
 * 640x512 BGR frame, 14 ms on 2448x2048, on the loaded 2-core dev VM (bench/plausibility.ts times the check).
 */
const WHOLE_MAX_PIXELS = 640 * 512;
const SAMPLE_PIXELS = 320 * 256;

/**
 * The image to judge for this frame: the frame's own, or (convert: true) an 8-bit, at most
 * 3-channel copy of it. Throws, and the frame gets ERROR, when the source could not read the image
 * (its readError, e.g. INSPECTD_IMAGE_READ for a truncated file), the image is empty or in a format
 * it may not convert (INSPECTD_FRAME_INVALID), or it cannot be a part (INSPECTD_FRAME_IMPLAUSIBLE).
 * A converted copy is the caller's to release, like the frame's image.
 */
export function plausibleImage(frame: Frame, rules: PlausibilityRules): Mat {
  if (frame.readError) throw frame.readError;
  const image = frame.image;
  const cam = `camera ${rules.camera}`;
  if (!image || image.empty || image.rows <= 0 || image.cols <= 0) throw new FrameError(`${cam}: frame image is empty`);
  if (Math.min(image.rows, image.cols) < rules.minSidePx) {
    throw new FrameImplausibleError(`${cam}: frame is ${image.cols}x${image.rows} px, smaller than plausibility.minSidePx ${rules.minSidePx}`);
  }
  const needsConversion = image.depth !== CV_8U || image.channels === 4;
  if (needsConversion && !rules.convert) {
    throw new FrameError(`${cam}: frame is ${describeFormat(image)}; the pipeline takes 8-bit mono or BGR (plausibility.convert: true converts 16-bit and 4-channel frames)`);
  }
  const judged = needsConversion ? convertForPipeline(image) : image;
  try {
    checkCapture(judged, rules, cam);
  } catch (err) {
    if (judged !== image) judged.release();
    throw err;
  }
  return judged;
}

function checkCapture(image: Mat, rules: PlausibilityRules, cam: string): void {
  const { size, channels } = rules;
  if (size && (image.cols !== size.width || image.rows !== size.height)) {
    throw new FrameImplausibleError(`${cam}: frame is ${image.cols}x${image.rows} px, the camera is configured for ${size.width}x${size.height}`);
  }
  if (channels !== undefined && image.channels !== channels) {
    throw new FrameImplausibleError(`${cam}: frame has ${image.channels} channel(s), the camera is configured for ${channels}`);
  }
  const { brightness, contrast } = brightnessAndContrast(image);
  if (brightness < rules.minBrightness || brightness > rules.maxBrightness || contrast < rules.minContrast) {
    throw new FrameImplausibleError(
      `${cam}: frame mean grey ${brightness.toFixed(1)}, standard deviation ${contrast.toFixed(1)}: outside the plausible ` +
        `${rules.minBrightness}-${rules.maxBrightness} mean and >= ${rules.minContrast} deviation (a capped lens, dead sensor or blown exposure looks like this)`,
    );
  }
}

/** Mean grey level and its standard deviation (colour frames as their luminance), on a sample when the frame is large. */
export function brightnessAndContrast(image: Mat): { brightness: number; contrast: number } {
  const view = statsView(image);
  try {
    const { mean, stddev } = view.meanStdDev();
    const brightness = mean.getDataAsArray().flat()[0]!;
    const contrast = stddev.getDataAsArray().flat()[0]!;
    mean.release();
    stddev.release();
    return { brightness, contrast };
  } finally {
    if (view !== image) view.release();
  }
}

function statsView(image: Mat): Mat {
  const cv = opencv();
  const pixels = image.rows * image.cols;
  if (image.channels === 1 && pixels <= WHOLE_MAX_PIXELS) return image;
  const step = Math.max(1, Math.ceil(Math.sqrt(pixels / SAMPLE_PIXELS)));
  const sample = step === 1 ? image : image.resize(Math.max(1, Math.floor(image.rows / step)), Math.max(1, Math.floor(image.cols / step)), 0, 0, cv.INTER_NEAREST);
  if (sample.channels === 1) return sample;
  // A uniform colour (every channel flat) is as uniform in luminance; one channel is cheap to measure.
  const grey = sample.cvtColor(cv.COLOR_BGR2GRAY);
  if (sample !== image) sample.release();
  return grey;
}
