import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { opencv, type Mat } from '../../src/preprocess/opencv.js';
import { renderPart } from '../../src/source/synthetic/render.js';

/** The synthetic line's frame size, which the default model and a synthetic camera expect. */
export const WIDTH = 640;
export const HEIGHT = 512;

/** A good (defect-free) part from the synthetic line, as the camera would deliver it. */
export function goodPart(index: number, channels: 1 | 3 = 1): Mat {
  const cv = opencv();
  const part = renderPart({ width: WIDTH, height: HEIGHT, channels, defectRate: 0, seed: 11, index });
  const bytes = Buffer.from(part.pixels.buffer, part.pixels.byteOffset, part.pixels.byteLength);
  return new cv.Mat(bytes, HEIGHT, WIDTH, channels === 1 ? cv.CV_8UC1 : cv.CV_8UC3);
}

/** A uniform frame: 0 a capped lens, 255 a blown exposure, 128 a dead sensor's grey. */
export function uniform(value: number, width = WIDTH, height = HEIGHT): Mat {
  const cv = opencv();
  return new cv.Mat(height, width, cv.CV_8UC1, value);
}

/** The first `fraction` of a file's bytes: a transfer that broke off. */
export function truncated(bytes: Buffer, fraction: number): Buffer {
  return bytes.subarray(0, Math.floor(bytes.length * fraction));
}

export function encode(ext: '.png' | '.jpg', image: Mat): Buffer {
  return opencv().imencode(ext, image);
}

/** An 8-bit part stored as 16-bit the usual way (x·257), so converting back is exact. */
export function sixteenBit(image: Mat): Mat {
  return image.convertTo(opencv().CV_16U, 257);
}

export function withAlpha(image: Mat): Mat {
  const cv = opencv();
  return image.cvtColor(image.channels === 1 ? cv.COLOR_GRAY2BGRA : cv.COLOR_BGR2BGRA);
}

/**
 * Every kind of capture that cannot be a part, written as files for a folder camera, with the
 * code its ERROR must carry; names sort in the order the camera replays them.
 */
export function writeImplausibleFiles(dir: string): Array<{ file: string; code: string }> {
  const cases: Array<[string, Buffer, string]> = [
    ['01-one-pixel.png', encode('.png', uniform(90, 1, 1)), 'INSPECTD_FRAME_IMPLAUSIBLE'],
    ['02-black.png', encode('.png', uniform(0)), 'INSPECTD_FRAME_IMPLAUSIBLE'],
    ['03-white.png', encode('.png', uniform(255)), 'INSPECTD_FRAME_IMPLAUSIBLE'],
    ['04-grey.jpg', encode('.jpg', uniform(128)), 'INSPECTD_FRAME_IMPLAUSIBLE'],
    ['05-truncated.jpg', truncated(encode('.jpg', goodPart(0)), 0.6), 'INSPECTD_IMAGE_READ'],
    ['06-truncated.png', truncated(encode('.png', goodPart(0)), 0.6), 'INSPECTD_IMAGE_READ'],
    ['07-sixteen-bit.png', encode('.png', sixteenBit(goodPart(0))), 'INSPECTD_FRAME_INVALID'],
    ['08-alpha.png', encode('.png', withAlpha(goodPart(0))), 'INSPECTD_FRAME_INVALID'],
    // Implausible only for a camera configured for WIDTHxHEIGHT.
    ['09-wrong-size.png', encode('.png', goodPart(0).resize(HEIGHT / 2, WIDTH / 2)), 'INSPECTD_FRAME_IMPLAUSIBLE'],
  ];
  return cases.map(([name, bytes, code]) => {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    return { file, code };
  });
}
