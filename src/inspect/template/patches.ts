import type { InputSpec } from '../../model/spec.js';
import { opencv, type Mat } from '../../preprocess/opencv.js';
import type { Blob, Difference } from './difference.js';
import { blobTopologyCell, topologyCell, type TopologyWindow } from './topology.js';

/** The classifier's three input channels, in order: what the frame shows, what it should show, and which pixels are this blob. */
export const PATCH_CHANNELS = ['tested', 'reference', 'blob'] as const;

/**
 * One patch per blob, input.width x input.height frame pixels centred on the blob (no resize: the
 * classifier sees defects at their true scale), channels PATCH_CHANNELS, normalised as
 * `(x·scale − mean[c]) / std[c]`, NCHW. An empty frame (no blobs) still gets one blank patch: the
 * backend runs a batch of at least one, and the decoder reads only as many rows as there are regions.
 * `topology[i]` is blob i's topology cell (topology.ts), for the decoder: over the same window, or
 * over the window `cells.window` gives (model.json decoder.topology.window). `cells.variants`: each
 * blob's cell under each of these windows too (`variants[v][i]`), for tools choosing the window.
 */
export function patchTensor(
  diff: Difference,
  reference: Mat,
  blobs: readonly Blob[],
  input: InputSpec,
  cells: { window?: TopologyWindow | undefined; variants?: readonly TopologyWindow[] | undefined } = {},
): { tensor: Float32Array; dims: [number, number, number, number]; topology: number[]; variants: number[][] } {
  const cv = opencv();
  const w = input.width;
  const h = input.height;
  const n = Math.max(1, blobs.length);
  const plane = w * h;
  const tensor = new Float32Array(n * 3 * plane);
  const topology: number[] = [];
  const variants: number[][] = (cells.variants ?? []).map(() => []);
  if (blobs.length === 0) return { tensor, dims: [1, 3, h, w], topology, variants };
  const padX = w;
  const padY = h;
  const tested = diff.aligned.copyMakeBorder(padY, padY, padX, padX, cv.BORDER_REPLICATE);
  const ref = reference.copyMakeBorder(padY, padY, padX, padX, cv.BORDER_REPLICATE);
  const labels = new Int32Array(new Uint8Array(diff.labels.getData()).buffer);
  const maskData = diff.mask.getData();
  const cols = diff.mask.cols;
  const rows = diff.mask.rows;
  const norm = (c: number) => ({ mean: input.mean[c] ?? input.mean[0]!, std: input.std[c] ?? input.std[0]! });
  try {
    blobs.forEach((b, i) => {
      const x0 = Math.round(b.box[0] + b.box[2] / 2 - w / 2);
      const y0 = Math.round(b.box[1] + b.box[3] / 2 - h / 2);
      const rect = new cv.Rect(x0 + padX, y0 + padY, w, h);
      // A region is a view with the parent's stride; copy() makes it continuous for getData().
      const planes = [tested.getRegion(rect).copy().getData(), ref.getRegion(rect).copy().getData()];
      topology.push(cells.window ? blobTopologyCell(tested, ref, padX, b.box, w, h, cells.window) : topologyCell(planes[0]!, planes[1]!, w, h));
      cells.variants?.forEach((v, k) => variants[k]!.push(blobTopologyCell(tested, ref, padX, b.box, w, h, v)));
      for (let c = 0; c < 2; c++) {
        const { mean, std } = norm(c);
        const src = planes[c]!;
        const off = (i * 3 + c) * plane;
        for (let k = 0; k < plane; k++) tensor[off + k] = (src[k]! * input.scale - mean) / std;
      }
      const { mean, std } = norm(2);
      const off = (i * 3 + 2) * plane;
      const on = (255 * input.scale - mean) / std;
      const offValue = -mean / std;
      for (let yy = 0; yy < h; yy++) {
        for (let xx = 0; xx < w; xx++) {
          const fx = x0 + xx;
          const fy = y0 + yy;
          const j = fy * cols + fx;
          const own = fx >= 0 && fy >= 0 && fx < cols && fy < rows && labels[j] === b.label && maskData[j] !== 0;
          tensor[off + yy * w + xx] = own ? on : offValue;
        }
      }
    });
  } finally {
    tested.release();
    ref.release();
  }
  return { tensor, dims: [n, 3, h, w], topology, variants };
}
