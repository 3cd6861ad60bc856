import { readFile } from 'node:fs/promises';
import { errorMessage, FrameError, ImageReadError } from '../errors.js';
import { opencv, type Mat } from '../preprocess/opencv.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Why an encoded image is cut short, or undefined when its framing is whole (or it is a format
 * this does not know). OpenCV cannot be asked: its imread decodes a JPEG that stops half way
 * (libjpeg only prints "Premature end of JPEG file" to stderr and fills the rest grey), and
 * reports a cut PNG as a bare empty Mat. A file still being written to a share, or a frame whose
 * transfer broke off, is what this catches. Damaged data inside a whole file is left to the decoder:
 * libpng refuses a PNG whose critical chunk fails its CRC or does not inflate (so chunk CRCs are not
 * computed twice: 1.6 ms per 5 MB here); libjpeg does not refuse a JPEG with damaged entropy-coded
 * data, and that is not detected.
 */
export function imageDamage(bytes: Buffer): string | undefined {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8) return jpegDamage(bytes);
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return pngDamage(bytes);
  return undefined;
}

/** A JPEG ends with EOI (FF D9); some cameras pad the buffer after it with zeros, which is whole. */
function jpegDamage(bytes: Buffer): string | undefined {
  let end = bytes.length;
  while (end > 2 && bytes[end - 1] === 0x00) end--;
  if (end >= 4 && bytes[end - 2] === 0xff && bytes[end - 1] === 0xd9) return undefined;
  return `truncated JPEG: no end-of-image marker (FF D9) after ${bytes.length} bytes`;
}

/** A PNG is a chain of length-prefixed chunks that must end with IEND and fit the file. */
function pngDamage(bytes: Buffer): string | undefined {
  let at = 8;
  while (at + 8 <= bytes.length) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const next = at + 12 + length;
    if (next > bytes.length) return `truncated PNG: chunk ${type} at byte ${at} needs ${length + 12} bytes, ${bytes.length - at} left`;
    if (type === 'IEND') return undefined;
    at = next;
  }
  return `truncated PNG: no IEND chunk in ${bytes.length} bytes`;
}

/**
 * An image file decoded as it is stored (IMREAD_UNCHANGED): 16-bit stays 16-bit, alpha stays, mono
 * stays mono, so the plausibility checks see what the camera or the recording produced. A cut or
 * undecodable file throws ImageReadError (INSPECTD_IMAGE_READ) with the reason. EXIF orientation
 * is not applied (IMREAD_UNCHANGED ignores it): a line camera's pixels are taken as stored.
 */
export async function readImageFile(file: string): Promise<Mat> {
  const cv = opencv();
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new ImageReadError(file, { cause: err });
  }
  const damage = imageDamage(bytes);
  if (damage) throw new ImageReadError(file, { reason: damage });
  let mat: Mat;
  try {
    mat = await cv.imdecodeAsync(bytes, cv.IMREAD_UNCHANGED);
  } catch (err) {
    throw new ImageReadError(file, { cause: err, reason: String(err) });
  }
  if (!mat || mat.empty || mat.rows <= 0 || mat.cols <= 0) throw new ImageReadError(file, { reason: 'OpenCV could not decode it' });
  return mat;
}

/**
 * An image file as an 8-bit BGR Mat, for the CLI tools and self-tests. Decoded as stored
 * (readImageFile: a truncated file is refused with INSPECTD_IMAGE_READ), then 16-bit and 4-channel
 * images converted exactly as a camera with `plausibility.convert: true` converts them, so
 * `inspectd tensors` exports what the daemon feeds the model; mono is expanded to BGR as
 * IMREAD_COLOR did (preprocessing makes the same tensor from either).
 */
export async function readImage(file: string): Promise<Mat> {
  const cv = opencv();
  const stored = await readImageFile(file);
  let eightBit: Mat;
  try {
    eightBit = convertForPipeline(stored);
  } catch (err) {
    stored.release();
    throw new ImageReadError(file, { cause: err, reason: errorMessage(err) });
  }
  if (eightBit !== stored) stored.release();
  if (eightBit.channels === 3) return eightBit;
  const bgr = eightBit.cvtColor(cv.COLOR_GRAY2BGR);
  eightBit.release();
  return bgr;
}

const CV_8U = 0;
const CV_16U = 2;

/**
 * A 16-bit and/or 4-channel image as the pipeline's 8-bit mono/BGR: the full 16-bit range scaled
 * to 8 bits (x·255/65535, rounded, so 65535 is 255 and an 8-bit image stored as 16-bit by the usual
 * x·257 comes back exact) and the alpha channel dropped (not composited). Other depths (float,
 * signed) and 2-channel images have no meaning this could guess and are refused.
 */
export function convertForPipeline(image: Mat): Mat {
  const cv = opencv();
  if ((image.depth !== CV_8U && image.depth !== CV_16U) || image.channels === 2) {
    throw new FrameError(`frame is ${describeFormat(image)}; only 16-bit and 4-channel frames can be converted`);
  }
  const eightBit = image.depth === CV_16U ? image.convertTo(cv.CV_8U, 255 / 65535) : image;
  if (eightBit.channels !== 4) return eightBit;
  const bgr = eightBit.cvtColor(cv.COLOR_BGRA2BGR);
  if (eightBit !== image) eightBit.release();
  return bgr;
}

const DEPTH_NAMES = ['8-bit', '8-bit signed', '16-bit', '16-bit signed', '32-bit integer', '32-bit float', '64-bit float'];

export function describeFormat(image: Mat): string {
  return `${DEPTH_NAMES[image.depth] ?? `OpenCV depth ${image.depth}`} with ${image.channels} channel(s)`;
}
