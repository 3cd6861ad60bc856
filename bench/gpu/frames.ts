import type { InputSpec } from '../../src/model/spec.js';
import type { PixelFormat } from '../../src/infer/tensorrt/plan.js';

/**
 * What the CUDA preprocessing is checked on: the same seeded random frames are made here (for the
 * OpenCV references, on the development machine) and on the GPU machine (for the kernel), so only
 * the small 8-bit references travel. Real images travel as raw pixels in the reference file.
 */

/** mulberry32: a tiny seeded generator, identical on both machines. */
export function randomFrame(width: number, height: number, channels: number, seed: number): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  let a = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

const base = { layout: 'NCHW', resize: 'stretch', padValue: 114, scale: 1 / 255, mean: [0], std: [1] } as const;

/** Model inputs covering every colour order, both resize modes, both layouts, shrinking and growing. */
export const SPECS: Record<string, InputSpec> = {
  // models/synthetic-line: 640x512 -> 320x256 is OpenCV's exact-2x INTER_AREA path.
  'synthetic-line': { ...base, name: 'input', width: 320, height: 256, colorOrder: 'GRAY', mean: [0.5], std: [0.5] },
  // models/magnetic-tile: non-integer INTER_AREA (or INTER_LINEAR when the image is smaller).
  'magnetic-tile': { ...base, name: 'input', width: 224, height: 224, colorOrder: 'GRAY', mean: [0.429], std: [0.182] },
  // A YOLO-style input: RGB letterbox, INTER_LINEAR, grey pads, per-channel ImageNet normalisation.
  'rgb-letterbox': {
    ...base,
    name: 'images',
    width: 320,
    height: 320,
    colorOrder: 'RGB',
    resize: 'letterbox',
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
  },
  // BGR, NHWC, a stretch that grows one axis (INTER_LINEAR) for the small frames.
  'bgr-nhwc': { ...base, name: 'input', width: 288, height: 400, colorOrder: 'BGR', layout: 'NHWC', mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3] },
};

export interface RandomFrameCase {
  kind: 'random';
  width: number;
  height: number;
  format: PixelFormat;
  seed: number;
}

export const RANDOM_FRAMES: RandomFrameCase[] = [];
for (const [width, height] of [
  [640, 512],
  [334, 252],
] as const) {
  for (const format of ['mono8', 'bgr8', 'bayer_rg8'] as const) {
    RANDOM_FRAMES.push({ kind: 'random', width, height, format, seed: width * 7919 + height * 31 + format.length });
  }
}

/**
 * The kernel's special paths at the camera sizes the benchmark times, each with the one spec that
 * takes it: Bayer binned 2x2 to RGB (every source pixel read), Bayer and BGR letterboxed to a
 * YOLO 640 input (word loads of the Bayer window and of BGR pixel pairs), and RGB at exactly half
 * size from the 640x512 frames (the binned path with three channels).
 */
export const EXTRA_SPECS: Record<string, InputSpec> = {
  'rgb-half': { ...base, name: 'input', width: 320, height: 256, colorOrder: 'RGB', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  'rgb-bin2-1224': { ...base, name: 'images', width: 1224, height: 1024, colorOrder: 'RGB', mean: [0], std: [1] },
  'yolo-640': { ...base, name: 'images', width: 640, height: 640, colorOrder: 'RGB', resize: 'letterbox', mean: [0], std: [1] },
};

export const EXTRA_CASES: Array<{ frame: RandomFrameCase; spec: string }> = [
  ...(['mono8', 'bgr8', 'bayer_rg8'] as const).map((format) => ({ frame: RANDOM_FRAMES.find((f) => f.width === 640 && f.format === format)!, spec: 'rgb-half' })),
  { frame: { kind: 'random', width: 2448, height: 2048, format: 'bayer_rg8', seed: 2448 }, spec: 'rgb-bin2-1224' },
  { frame: { kind: 'random', width: 2448, height: 2048, format: 'bayer_rg8', seed: 2448 }, spec: 'yolo-640' },
  { frame: { kind: 'random', width: 1920, height: 1200, format: 'bgr8', seed: 1920 }, spec: 'yolo-640' },
];

/** A case's spec, from either table. */
export function specOf(name: string): InputSpec {
  const spec = SPECS[name] ?? EXTRA_SPECS[name];
  if (!spec) throw new Error(`unknown reference spec ${name}`);
  return spec;
}

export function channelsOf(format: PixelFormat): number {
  return format === 'bgr8' ? 3 : 1;
}

/** The reference file's index (bench/gpu/make-references.ts writes it). */
export interface ReferenceManifest {
  created: string;
  opencv: string;
  /** max |toTensor(resized) - (u8 * alpha + beta)| over every case: the CPU normalisation is that formula. */
  cpuNormalisationMaxAbs: number;
  cases: Array<{
    id: string;
    spec: string;
    frame:
      | RandomFrameCase
      | { kind: 'image'; source: string; width: number; height: number; format: PixelFormat; offset: number; bytes: number };
    /** The CPU path's 8-bit resized, colour-converted image (HWC), in refs.bin. */
    refOffset: number;
    refBytes: number;
  }>;
}
