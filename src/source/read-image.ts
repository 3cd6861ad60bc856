import { ImageReadError } from '../errors.js';
import { opencv, type Mat } from '../preprocess/opencv.js';

/**
 * An image file as the pipeline's 8-bit mono/BGR Mat. IMREAD_COLOR drops alpha (RGBA PNGs) and
 * reduces 16-bit TIFFs to 8 bits, so every readable image reaches preprocessing the same way.
 */
export async function readImage(file: string): Promise<Mat> {
  const cv = opencv();
  let mat: Mat;
  try {
    mat = await cv.imreadAsync(file, cv.IMREAD_COLOR);
  } catch (err) {
    throw new ImageReadError(file, { cause: err });
  }
  if (!mat || mat.empty || mat.rows <= 0 || mat.cols <= 0) throw new ImageReadError(file);
  return mat;
}
