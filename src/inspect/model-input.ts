import type { PixelFormat, RawFrame } from '../infer/backend.js';
import type { InputSpec } from '../model/spec.js';
import { resizeGeometry, type InputTransform } from '../preprocess/geometry.js';
import type { Mat } from '../preprocess/opencv.js';
import { checkFrameImage, OFF_MAIN_THREAD_PIXELS, type PreparedInput } from '../preprocess/preprocess.js';

/**
 * A frame for a backend that preprocesses it itself (TensorRT's CUDA kernel): the frame's pixels,
 * and the transform its decoder maps boxes back through, from the same geometry the CPU path uses.
 */
export interface PreparedFrame {
  frame: RawFrame;
  transform: InputTransform;
}

/** What a frame becomes before inference: the CPU-made tensor, or the frame itself for a backend that takes frames. */
export type ModelInput = PreparedInput | PreparedFrame;

export function isPreparedFrame(input: ModelInput): input is PreparedFrame {
  return 'frame' in input;
}

/**
 * The frame's own pixels and geometry, checked as the CPU path checks them (8-bit, 1 or 3
 * channels, else INSPECTD_FRAME_INVALID). Mono frames are `mono8`, colour frames OpenCV's `bgr8`.
 * OpenCV's binding copies the pixels out of the Mat; frames above a megapixel are copied on libuv's
 * pool, as the CPU path resizes them there, so the main thread never holds a 5 MB memcpy.
 */
export async function preparedFrame(image: Mat, input: InputSpec): Promise<PreparedFrame> {
  checkFrameImage(image);
  const width = image.cols;
  const height = image.rows;
  const format: PixelFormat = image.channels === 1 ? 'mono8' : 'bgr8';
  const pixels = width * height > OFF_MAIN_THREAD_PIXELS ? await image.getDataAsync() : image.getData();
  return framePrepared({ pixels, width, height, format }, input);
}

/** Pixels already out of their Mat (or never in one: a Bayer sensor's mosaic), with their geometry. */
export function framePrepared(frame: RawFrame, input: InputSpec): PreparedFrame {
  return { frame, transform: resizeGeometry(input, frame.width, frame.height).transform };
}
