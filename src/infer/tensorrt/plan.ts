import { FrameError, InspectdError } from '../../errors.js';
import type { InputSpec } from '../../model/spec.js';
import { resizeGeometry, type InputTransform } from '../../preprocess/geometry.js';
import type { FrameGeometry, PixelFormat } from '../backend.js';
import type { NativePipelineOptions } from './native-types.js';

export type { FrameGeometry, PixelFormat };

/** Everything the CUDA kernel needs, and the transform decoders use to map boxes back. */
export interface PreprocessPlan {
  native: Omit<NativePipelineOptions, 'device' | 'slots' | 'enginePath'>;
  transform: InputTransform;
  frameBytes: number;
  tensorBytes: number;
  dims: [number, number, number, number];
}

const FORMAT = { mono8: 0, bgr8: 1, bayer_rg8: 2 } as const;
const COLOR = { GRAY: 0, RGB: 1, BGR: 2 } as const;
/** native/src/preprocess.h ResizeKind. */
const RESIZE = { identity: 0, linear: 1, area: 2 } as const;

export function bytesPerPixel(format: PixelFormat): number {
  return format === 'bgr8' ? 3 : 1;
}

/**
 * The GPU twin of src/preprocess/preprocess.ts's resizeForModel/toTensor decisions: the same choice
 * of INTER_AREA vs INTER_LINEAR, the same Ultralytics letterbox arithmetic, the same
 * (x·scale − mean)/std, so a model sees the same tensor on either path. Validates everything
 * before native code sees it.
 */
export function planPreprocess(input: InputSpec, frame: FrameGeometry, out: 'float32' | 'float16' = 'float32'): PreprocessPlan {
  const { width: w, height: h, format } = frame;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 3 || h < 3) {
    throw new FrameError(`GPU preprocessing needs a frame of at least 3x3 pixels, got ${w}x${h}`);
  }
  if (!(format in FORMAT)) throw new FrameError(`unknown pixel format ${String(format)} (mono8, bgr8, bayer_rg8)`);
  if (format === 'bayer_rg8' && (w % 2 !== 0 || h % 2 !== 0)) {
    throw new FrameError(`a Bayer frame must have even width and height, got ${w}x${h}`);
  }
  const W = input.width;
  const H = input.height;
  const C = input.colorOrder === 'GRAY' ? 1 : 3;
  // The same geometry the CPU path resizes by, so a decoder maps boxes back the same way on both.
  const g = resizeGeometry(input, w, h);
  const resize = RESIZE[g.interpolation];
  const inner = g.inner;
  const transform = g.transform;
  const std = (c: number) => input.std[c] ?? input.std[0]!;
  const mean = (c: number) => input.mean[c] ?? input.mean[0]!;
  const alpha = [0, 1, 2].map((c) => input.scale / std(c));
  const beta = [0, 1, 2].map((c) => -mean(c) / std(c));
  if (![...alpha, ...beta].every(Number.isFinite)) {
    throw new InspectdError('INSPECTD_PREPROCESS', 'model input normalisation (scale, mean, std) is not finite');
  }
  const dims: [number, number, number, number] = input.layout === 'NCHW' ? [1, C, H, W] : [1, H, W, C];
  return {
    native: {
      srcWidth: w,
      srcHeight: h,
      format: FORMAT[format],
      dstWidth: W,
      dstHeight: H,
      innerWidth: inner.w,
      innerHeight: inner.h,
      padLeft: inner.left,
      padTop: inner.top,
      resize,
      color: COLOR[input.colorOrder],
      nchw: input.layout === 'NCHW',
      half: out === 'float16',
      alpha,
      beta,
      padValue: input.padValue,
    },
    transform,
    frameBytes: w * h * bytesPerPixel(format),
    tensorBytes: W * H * C * (out === 'float16' ? 2 : 4),
    dims,
  };
}
