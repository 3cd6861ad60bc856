import { errorMessage, FrameError, InspectdError } from '../errors.js';
import type { Vec3 } from '@u4/opencv4nodejs';
import type { InputSpec } from '../model/spec.js';
import { resizeGeometry, type InputRegion, type InputTransform } from './geometry.js';
import { opencv, type Mat } from './opencv.js';

export type { InputTransform };

export interface PreparedInput {
  /** float32, laid out as the model expects (NCHW or NHWC, batch 1). */
  tensor: Float32Array;
  dims: [number, number, number, number];
  transform: InputTransform;
  /** Golden-template inputs: the frame region each patch of the batch was cut from (src/inspect/template/). */
  regions?: InputRegion[];
  /** Golden-template inputs: milliseconds of each stage of the template's preparation (the bench reads them). */
  stageMs?: Record<string, number>;
}

const CV_8U_DEPTH = 0;

/** Rejects what the pipeline cannot use, with a message a plant engineer can act on. */
export function checkFrameImage(image: Mat): void {
  if (!image || image.empty || image.rows <= 0 || image.cols <= 0) {
    throw new FrameError('frame image is empty');
  }
  if (image.depth !== CV_8U_DEPTH) throw new FrameError(`frame image must be 8-bit, got OpenCV depth ${image.depth}`);
  if (image.channels !== 1 && image.channels !== 3) {
    throw new FrameError(`frame image must have 1 (mono) or 3 (BGR) channels, got ${image.channels}`);
  }
}

/**
 * Frames above this many pixels are converted and resized on libuv's thread pool (OpenCV's async
 * calls): a 2448x2048 resize takes ~10 ms, too long to hold the main thread, where deadline timers
 * and MQTT run. Smaller frames stay on the main thread, where the call costs less than the hop.
 * Both run the same OpenCV function, so the result is the same bit for bit.
 */
export const OFF_MAIN_THREAD_PIXELS = 1_000_000;

interface MatOps {
  cvtColor(m: Mat, code: number): Promise<Mat>;
  resize(m: Mat, rows: number, cols: number, interpolation: number): Promise<Mat>;
  copyMakeBorder(m: Mat, top: number, bottom: number, left: number, right: number, value: number | Vec3): Promise<Mat>;
}

const onMainThread: MatOps = {
  cvtColor: async (m, code) => m.cvtColor(code),
  resize: async (m, rows, cols, interp) => m.resize(rows, cols, 0, 0, interp),
  copyMakeBorder: async (m, t, b, l, r, v) => m.copyMakeBorder(t, b, l, r, opencv().BORDER_CONSTANT, v),
};

const onThreadPool: MatOps = {
  cvtColor: (m, code) => m.cvtColorAsync(code),
  resize: (m, rows, cols, interp) => m.resizeAsync(rows, cols, 0, 0, interp),
  copyMakeBorder: (m, t, b, l, r, v) => m.copyMakeBorderAsync(t, b, l, r, opencv().BORDER_CONSTANT, v),
};

async function convertColor(image: Mat, input: InputSpec, ops: MatOps): Promise<Mat> {
  const cv = opencv();
  const mono = image.channels === 1;
  switch (input.colorOrder) {
    case 'GRAY':
      return mono ? image : ops.cvtColor(image, cv.COLOR_BGR2GRAY);
    case 'BGR':
      return mono ? ops.cvtColor(image, cv.COLOR_GRAY2BGR) : image;
    case 'RGB':
      return ops.cvtColor(image, mono ? cv.COLOR_GRAY2RGB : cv.COLOR_BGR2RGB);
  }
}

/**
 * Resize (stretch or Ultralytics-style letterbox) and convert colour: the 8-bit image the network
 * sees before normalisation. Training tools export this exact Mat, so the model trains on what the
 * daemon feeds it.
 */
export async function resizeForModel(image: Mat, input: InputSpec): Promise<{ mat: Mat; transform: InputTransform }> {
  checkFrameImage(image);
  const cv = opencv();
  const ops = image.rows * image.cols > OFF_MAIN_THREAD_PIXELS ? onThreadPool : onMainThread;
  const W = input.width;
  const H = input.height;
  const { inner, interpolation, transform } = resizeGeometry(input, image.cols, image.rows);
  const interp = interpolation === 'area' ? cv.INTER_AREA : cv.INTER_LINEAR;
  let mat: Mat;
  try {
    const colored = await convertColor(image, input, ops);
    if (input.resize === 'stretch') {
      mat = interpolation === 'identity' ? colored : await ops.resize(colored, H, W, interp);
      if (mat !== colored) releaseIntermediate(colored, image);
    } else {
      const resized = interpolation === 'identity' ? colored : await ops.resize(colored, inner.h, inner.w, interp);
      const pad = input.padValue;
      const border = colored.channels === 1 ? pad : new cv.Vec3(pad, pad, pad);
      mat = await ops.copyMakeBorder(resized, inner.top, inner.bottom, inner.left, inner.right, border);
      releaseIntermediate(resized, image);
      if (resized !== colored) releaseIntermediate(colored, image);
    }
  } catch (err) {
    if (err instanceof InspectdError) throw err;
    // The OpenCV binding throws plain strings, not Errors.
    throw new InspectdError('INSPECTD_PREPROCESS', `preprocessing failed: ${errorMessage(err)}`, { cause: err });
  }
  if (mat.rows !== H || mat.cols !== W) {
    throw new InspectdError('INSPECTD_PREPROCESS', `preprocessing produced ${mat.cols}x${mat.rows}, expected ${W}x${H}`);
  }
  return { mat, transform };
}

/** Where a tensor's storage comes from: a fresh array, or a reused one (src/infer/shared-tensors.ts). */
export type TensorAlloc = (length: number) => Float32Array;
const freshTensor: TensorAlloc = (n) => new Float32Array(n);

/**
 * Normalise an already-resized 8-bit Mat into the float32 tensor: x' = (x * scale - mean[c]) / std[c].
 * Each channel is converted by OpenCV (convertTo with alpha/beta) and copied by OpenCV straight into
 * the tensor's memory (a Mat header over it), so no per-pixel JavaScript runs and no buffer is made
 * per frame: reading the float Mat out with getData() made a 320 KiB Buffer a frame for the embedded
 * model, and with the tensor itself most of what V8 collected on the main thread (0.17 ms a frame
 * for the copies, against 0.02 ms for convertTo + copyTo here).
 */
export function toTensor(mat: Mat, input: InputSpec, alloc: TensorAlloc = freshTensor): Float32Array {
  const cv = opencv();
  const C = mat.channels;
  const plane = mat.rows * mat.cols;
  const out = alloc(C * plane);
  const alpha = (c: number) => input.scale / (input.std[c] ?? input.std[0]!);
  const beta = (c: number) => -(input.mean[c] ?? input.mean[0]!) / (input.std[c] ?? input.std[0]!);
  const uniform = C === 1 || (input.mean.length === 1 && input.std.length === 1);

  if (input.layout === 'NHWC') {
    const type = C === 1 ? cv.CV_32FC1 : cv.CV_32FC3;
    if (uniform) {
      copyInto(mat.convertTo(type, alpha(0), beta(0)), out, 0, type);
    } else {
      const planes = mat.splitChannels();
      const converted = planes.map((p, c) => p.convertTo(cv.CV_32FC1, alpha(c), beta(c)));
      copyInto(new cv.Mat(converted), out, 0, type);
      for (const m of [...planes, ...converted]) m.release();
    }
    return out;
  }
  const planes = C === 1 ? [mat] : mat.splitChannels();
  planes.forEach((p, c) => copyInto(p.convertTo(cv.CV_32FC1, alpha(c), beta(c)), out, c * plane, cv.CV_32FC1));
  if (C !== 1) for (const p of planes) p.release();
  return out;
}

/** Frees a Mat made along the way now rather than at some later GC; never the caller's own image. */
function releaseIntermediate(m: Mat, callersImage: Mat): void {
  if (m !== callersImage) m.release();
}

/**
 * Copies a float Mat into the tensor from element `offset` on, and frees it: it exists only to be
 * copied. The destination is a Mat header over the tensor's own memory (OpenCV's Mat(rows, cols,
 * type, data) wraps it without copying); copyTo into a header of the same size and type writes
 * there, never reallocates.
 */
function copyInto(mat: Mat, out: Float32Array, offset: number, type: number): void {
  const cv = opencv();
  const bytes = new Uint8Array(out.buffer, out.byteOffset + offset * 4, mat.rows * mat.cols * mat.channels * 4);
  const target = new cv.Mat(mat.rows, mat.cols, type, bytes as Buffer);
  mat.copyTo(target);
  target.release();
  mat.release();
}

/** The whole preprocessing step: frame Mat in, model tensor out. */
export async function preprocess(image: Mat, input: InputSpec, alloc?: TensorAlloc): Promise<PreparedInput> {
  const { mat, transform } = await resizeForModel(image, input);
  const tensor = toTensor(mat, input, alloc);
  const C = mat.channels;
  releaseIntermediate(mat, image);
  const dims: [number, number, number, number] =
    input.layout === 'NCHW' ? [1, C, input.height, input.width] : [1, input.height, input.width, C];
  return { tensor, dims, transform };
}
