import type { Point2 } from '@u4/opencv4nodejs';
import { TemplateRegistrationError } from '../../errors.js';
import { opencv, type Mat } from '../../preprocess/opencv.js';

/** How a frame is registered to its reference, and when it counts as unregistrable (model.json `template.registration`). */
export interface RegistrationSettings {
  /** Anchor windows on a grid x grid layout over the reference, each windowPx square. */
  grid: number;
  windowPx: number;
  /** Windows flatter than this grey standard deviation carry no position and are not used. */
  minWindowContrast: number;
  /** A window counts as found when its normalised correlation peak reaches this. */
  minScore: number;
  /** RANSAC's inlier distance, px. */
  ransacPx: number;
  /** Fewer inlier windows than this and the frame is ERROR: too little agreement to trust any transform. */
  minInliers: number;
  /** Inliers / usable windows below this: the frame mostly does not look like its reference (wrong part, smeared frame). */
  minInlierRatio: number;
  /** The fixture holds the part to within this: larger shifts or rotations are not this part in place. */
  maxShiftPx: number;
  maxRotationDeg: number;
  /** |scale - 1| above this: wrong optics or wrong part. */
  maxScaleError: number;
}

interface Window {
  x: number;
  y: number;
  image: Mat;
}

/** A reference image with its anchor windows and coarse copy, prepared once when the reference is loaded. */
export interface Reference {
  readonly key: string;
  readonly image: Mat;
  readonly windows: readonly Window[];
  /** Quarter-size copy and its interior (inset by the largest shift), for the coarse shift search. */
  readonly quarter: Mat;
  readonly quarterCentre: { x: number; y: number; image: Mat };
  /**
   * A reference of one grey level (a bare tile): it looks the same at every shift, so there is
   * nothing to register and nothing a shift could hide; frames are compared with it as they are.
   */
  readonly uniform: boolean;
  /** Full-size interior, for a translation-only fit when the reference has too few anchor windows. */
  readonly interior: { x: number; y: number; image: Mat };
  release(): void;
}

/** The registration quality figure, published with the timings and checked against the settings. */
export interface RegistrationQuality {
  /** Windows with enough contrast to locate. */
  windows: number;
  /** Windows whose correlation peak reached minScore. */
  matches: number;
  inliers: number;
  inlierRatio: number;
  /** RMS distance of the inliers after the fit, px: sub-pixel when registration is good (NaN for a shift-only fit). */
  residualPx: number;
  /** Normalised correlation of the frame with its reference at the fitted shift (coarse for window fits, whole interior for shift-only ones). */
  correlation?: number;
  /** 'similarity' (anchor windows), 'shift' (whole interior only: too few windows agreed), 'none' (a uniform reference). */
  fit?: 'similarity' | 'shift' | 'none';
}

/**
 * frame → reference as a similarity: x_ref = a·x − b·y + tx, y_ref = b·x + a·y + ty, with
 * a = s·cos θ, b = s·sin θ. `matrix` is the 2x3 row-major form warpAffine takes.
 */
export interface Registration {
  matrix: [number, number, number, number, number, number];
  shiftPx: [number, number];
  rotationDeg: number;
  scale: number;
  quality: RegistrationQuality;
}

const QUARTER = 4;
/** A reference whose grey levels spread less than this is uniform (JPEG noise on a bare tile is well under 1). */
const UNIFORM_GREY_SD = 2;
/** The full-size search about the coarse shift, px: the quarter-size peak is good to a pixel or two there. */
const FINE_SEARCH = 2 * QUARTER;
/** The second pass's search, px: after the first fit only sub-pixel to a pixel or so is left. */
const REFINE_SEARCH = 4;

export async function describeReference(key: string, image: Mat, s: RegistrationSettings): Promise<Reference> {
  const cv = opencv();
  const windows: Window[] = [];
  const size = Math.min(s.windowPx, Math.floor((Math.min(image.cols, image.rows) * 3) / 4 / s.grid));
  // In each grid cell, the window of most contrast among nine placements: boards have bare areas
  // where a centred window would see nothing to locate.
  // Windows keep clear of the edge by the largest shift: there a moved frame has no content of its own.
  const inset = Math.min(Math.ceil(s.maxShiftPx) + 2, Math.floor(image.cols / 8), Math.floor(image.rows / 8));
  const cellW = Math.floor((image.cols - 2 * inset) / s.grid);
  const cellH = Math.floor((image.rows - 2 * inset) / s.grid);
  for (let gy = 0; gy < s.grid; gy++) {
    for (let gx = 0; gx < s.grid; gx++) {
      let best: { x: number; y: number; contrast: number } | undefined;
      for (const fy of [0, 0.5, 1]) {
        for (const fx of [0, 0.5, 1]) {
          const x = inset + gx * cellW + Math.round(fx * (cellW - size));
          const y = inset + gy * cellH + Math.round(fy * (cellH - size));
          const contrast = image.getRegion(new cv.Rect(x, y, size, size)).meanStdDev().stddev.at(0, 0);
          if (!best || contrast > best.contrast) best = { x, y, contrast };
        }
      }
      if (best && best.contrast >= s.minWindowContrast) windows.push({ x: best.x, y: best.y, image: image.getRegion(new cv.Rect(best.x, best.y, size, size)).copy() });
    }
  }
  const quarter = await (await image.pyrDownAsync()).pyrDownAsync();
  // The interior, not the centre: a board tile may be bare in the middle and carry its tracks at an edge.
  const qInset = Math.min(Math.ceil(s.maxShiftPx / QUARTER) + 1, Math.floor(quarter.cols / 4), Math.floor(quarter.rows / 4));
  const qc = { x: qInset, y: qInset };
  const centre = quarter.getRegion(new cv.Rect(qc.x, qc.y, quarter.cols - 2 * qInset, quarter.rows - 2 * qInset)).copy();
  const fineInset = Math.min(FINE_SEARCH + 1, Math.floor(image.cols / 4), Math.floor(image.rows / 4));
  const interior = { x: fineInset, y: fineInset, image: image.getRegion(new cv.Rect(fineInset, fineInset, image.cols - 2 * fineInset, image.rows - 2 * fineInset)).copy() };
  return {
    key,
    image,
    windows,
    quarter,
    quarterCentre: { ...qc, image: centre },
    interior,
    uniform: image.meanStdDev().stddev.at(0, 0) < UNIFORM_GREY_SD,
    release() {
      image.release();
      quarter.release();
      centre.release();
      interior.image.release();
      for (const w of windows) w.image.release();
    },
  };
}

/** Peak of a correlation surface with its sub-pixel offset from a parabola through the peak and its neighbours. */
function subPixelPeak(result: Mat): { x: number; y: number; score: number } {
  const { maxVal, maxLoc } = result.minMaxLoc();
  const at = (x: number, y: number) => result.at(y, x) as number;
  const refine = (lo: number, mid: number, hi: number) => {
    const d = lo - 2 * mid + hi;
    return d < 0 ? Math.max(-0.5, Math.min(0.5, (lo - hi) / (2 * d))) : 0;
  };
  const { x, y } = maxLoc;
  const dx = x > 0 && x < result.cols - 1 ? refine(at(x - 1, y), maxVal, at(x + 1, y)) : 0;
  const dy = y > 0 && y < result.rows - 1 ? refine(at(x, y - 1), maxVal, at(x, y + 1)) : 0;
  return { x: x + dx, y: y + dy, score: maxVal };
}

/**
 * Registers a grey frame to its reference, the way AOI machines align to fiducials: a coarse shift
 * from the quarter-size images, then each anchor window of the reference found in the frame by
 * normalised cross-correlation near where the coarse shift puts it, its peak refined to sub-pixel
 * by a parabola, and a RANSAC similarity fit (refined by Levenberg-Marquardt, OpenCV's
 * estimateAffinePartial2D) through the windows found. Throws TemplateRegistrationError
 * (INSPECTD_TEMPLATE_UNREGISTERED) when the fit cannot be trusted: a frame that does not line up
 * with its reference must be ERROR, never judged.
 */
export async function register(frame: Mat, ref: Reference, s: RegistrationSettings): Promise<Registration> {
  const cv = opencv();
  const fail = (why: string, quality?: RegistrationQuality): never => {
    throw new TemplateRegistrationError(`frame cannot be registered to reference "${ref.key}": ${why}`, quality);
  };
  if (frame.cols !== ref.image.cols || frame.rows !== ref.image.rows) {
    fail(`frame is ${frame.cols}x${frame.rows} px, the reference ${ref.image.cols}x${ref.image.rows}`);
  }
  if (ref.uniform) return { matrix: [1, 0, 0, 0, 1, 0], shiftPx: [0, 0], rotationDeg: 0, scale: 1, quality: { windows: 0, matches: 0, inliers: 0, inlierRatio: 1, residualPx: 0, fit: 'none' } };
  const quarter = await (await frame.pyrDownAsync()).pyrDownAsync();
  // Searched only as far as the fixture lets the part move: a repeated pattern further off cannot win.
  const qc = ref.quarterCentre;
  const r = Math.ceil(s.maxShiftPx / QUARTER) + 1;
  const qx0 = Math.max(0, qc.x - r);
  const qy0 = Math.max(0, qc.y - r);
  const area = quarter.getRegion(new cv.Rect(qx0, qy0, Math.min(quarter.cols, qc.x + qc.image.cols + r) - qx0, Math.min(quarter.rows, qc.y + qc.image.rows + r) - qy0));
  const coarse = subPixelPeak(await area.matchTemplateAsync(qc.image, cv.TM_CCOEFF_NORMED));
  quarter.release();
  if (coarse.score < s.minScore) fail(`the frame does not look like its reference (coarse correlation ${coarse.score.toFixed(2)}, at least ${s.minScore})`);
  // Frame position minus reference position of the same content.
  const cdx = (qx0 + coarse.x - qc.x) * QUARTER;
  const cdy = (qy0 + coarse.y - qc.y) * QUARTER;
  if (ref.windows.length < s.minInliers) return translationOnly(frame, ref, s, cdx, cdy, fail);
  try {
    return await similarity(frame, ref, s, cdx, cdy, fail);
  } catch (err) {
    // Too few windows agreeing (a sparse board, a repeated pattern) still leaves the whole-interior
    // correlation: a frame that lines up with its reference by a shift alone, at minScore or better,
    // is registered as that shift; one that does not gets the windows' error.
    if (!(err instanceof TemplateRegistrationError)) throw err;
    return translationOnly(frame, ref, s, cdx, cdy, () => {
      throw err;
    });
  }
}

async function similarity(frame: Mat, ref: Reference, s: RegistrationSettings, cdx: number, cdy: number, fail: (why: string, q?: RegistrationQuality) => never): Promise<Registration> {
  const cv = opencv();
  const rotationReach = (Math.hypot(frame.cols, frame.rows) / 2) * Math.sin((s.maxRotationDeg * Math.PI) / 180);
  const first = await fitWindows(frame, ref, s, cdx, cdy, Math.ceil(rotationReach + QUARTER * 2), fail);
  // Second pass on the frame warped by the first fit: the windows now match unrotated content, so
  // their peaks are unbiased and the correction is small; the two compose to the final transform.
  // Up to two more passes, each on the frame warped by the fit so far, until the correction is
  // under 0.05 px at the frame's corners.
  let matrix = first.matrix;
  let quality = first.quality;
  for (let pass = 0; pass < 2; pass++) {
    const warped = await frame.warpAffineAsync(new cv.Mat([matrix.slice(0, 3), matrix.slice(3, 6)], cv.CV_64F), new cv.Size(frame.cols, frame.rows), cv.INTER_LINEAR, cv.BORDER_REPLICATE);
    const next = await fitWindows(warped, ref, s, 0, 0, REFINE_SEARCH, fail);
    warped.release();
    matrix = compose(next.matrix, matrix);
    quality = next.quality;
    const [a2, nb2, tx2, b2, , ty2] = next.matrix;
    const corner = Math.max(...[[0, 0], [frame.cols, 0], [0, frame.rows], [frame.cols, frame.rows]].map(([x, y]) => Math.hypot(a2 * x! + nb2 * y! + tx2 - x!, b2 * x! + a2 * y! + ty2 - y!)));
    if (corner < 0.05) break;
  }
  const [a, nb, tx, b, , ty] = matrix;
  const scale = Math.hypot(a, b);
  const rotationDeg = (Math.atan2(b, a) * 180) / Math.PI;
  // The frame centre's displacement, so a rotation about the centre does not read as a shift.
  const cx = frame.cols / 2;
  const cy = frame.rows / 2;
  const shiftPx: [number, number] = [a * cx + nb * cy + tx - cx, b * cx + a * cy + ty - cy];
  if (Math.abs(scale - 1) > s.maxScaleError) fail(`scale ${scale.toFixed(3)} (allowed 1 ± ${s.maxScaleError})`, quality);
  if (Math.abs(rotationDeg) > s.maxRotationDeg) fail(`rotation ${rotationDeg.toFixed(2)}° (allowed ±${s.maxRotationDeg}°)`, quality);
  if (Math.hypot(...shiftPx) > s.maxShiftPx) fail(`shift ${Math.hypot(...shiftPx).toFixed(1)} px (allowed ${s.maxShiftPx})`, quality);
  return { matrix: [a, nb, tx, b, a, ty], shiftPx, rotationDeg, scale, quality: { ...quality, fit: 'similarity' } };
}

/** The similarity `outer ∘ inner`: first inner, then outer. */
function compose(outer: Registration['matrix'], inner: Registration['matrix']): Registration['matrix'] {
  const [a2, nb2, tx2, b2, , ty2] = outer;
  const [a1, , tx1, b1, , ty1] = inner;
  const a = a2 * a1 + nb2 * b1;
  const b = b2 * a1 + a2 * b1;
  return [a, -b, a2 * tx1 + nb2 * ty1 + tx2, b, a, b2 * tx1 + a2 * ty1 + ty2];
}

/** Each anchor window found near (its place + (cdx, cdy)) in the frame, and a RANSAC similarity fit through them. */
async function fitWindows(
  frame: Mat,
  ref: Reference,
  s: RegistrationSettings,
  cdx: number,
  cdy: number,
  search: number,
  fail: (why: string, q?: RegistrationQuality) => never,
): Promise<{ matrix: Registration['matrix']; quality: RegistrationQuality }> {
  const cv = opencv();
  const from: Point2[] = [];
  const to: Point2[] = [];
  const found = await Promise.all(
    ref.windows.map(async (w) => {
      const size = w.image.cols;
      const x0 = Math.max(0, Math.round(w.x + cdx - search));
      const y0 = Math.max(0, Math.round(w.y + cdy - search));
      const x1 = Math.min(frame.cols, Math.round(w.x + cdx + search) + size);
      const y1 = Math.min(frame.rows, Math.round(w.y + cdy + search) + size);
      if (x1 - x0 < size || y1 - y0 < size) return undefined;
      const result = await frame.getRegion(new cv.Rect(x0, y0, x1 - x0, y1 - y0)).matchTemplateAsync(w.image, cv.TM_CCOEFF_NORMED);
      const peak = subPixelPeak(result);
      const onEdge = peak.x < 0.5 || peak.y < 0.5 || peak.x > result.cols - 1.5 || peak.y > result.rows - 1.5;
      result.release();
      // A peak on the search's edge is where the true one lies beyond: its position is not to be trusted.
      return peak.score >= s.minScore && !onEdge ? { frame: new cv.Point2(x0 + peak.x + size / 2, y0 + peak.y + size / 2), ref: new cv.Point2(w.x + size / 2, w.y + size / 2) } : undefined;
    }),
  );
  for (const f of found) {
    if (!f) continue;
    from.push(f.frame);
    to.push(f.ref);
  }
  const quality0 = { windows: ref.windows.length, matches: from.length, inliers: 0, inlierRatio: 0, residualPx: Infinity };
  if (from.length < s.minInliers) fail(`${from.length} of ${ref.windows.length} anchor windows found (at least ${s.minInliers} needed)`, quality0);
  const fit = await cv.estimateAffinePartial2DAsync(from, to, cv.RANSAC, s.ransacPx, 2000, 0.995, 20);
  if (fit.out.empty) fail('no consistent transform among the anchor windows', quality0);
  const m = fit.out.getDataAsArray() as number[][];
  const inlierFlags = (fit.inliers.getDataAsArray() as number[][]).map((r) => r[0]! !== 0);
  fit.out.release();
  fit.inliers.release();
  const [a, nb, tx] = m[0]! as [number, number, number];
  const [b, , ty] = m[1]! as [number, number, number];
  let inliers = 0;
  let sq = 0;
  inlierFlags.forEach((ok, i) => {
    if (!ok) return;
    const p = from[i]!;
    const q = to[i]!;
    const dx = a * p.x + nb * p.y + tx - q.x;
    const dy = b * p.x + a * p.y + ty - q.y;
    sq += dx * dx + dy * dy;
    inliers++;
  });
  const quality: RegistrationQuality = { ...quality0, inliers, inlierRatio: inliers / ref.windows.length, residualPx: inliers ? Math.sqrt(sq / inliers) : Infinity };
  if (inliers < s.minInliers) fail(`${inliers} anchor windows agree on one transform (at least ${s.minInliers} needed)`, quality);
  if (quality.inlierRatio < s.minInlierRatio) fail(`${inliers} of ${ref.windows.length} anchor windows agree, below ${s.minInlierRatio}`, quality);
  return { matrix: [a, nb, tx, b, a, ty], quality };
}

/**
 * A reference with too few anchor windows (a bare tile with one corner of copper) cannot give a
 * rotation, but its interior still fixes the shift: one full-size correlation about the coarse
 * shift, refined to sub-pixel, checked against minScore. Rotation is taken as none.
 */
async function translationOnly(frame: Mat, ref: Reference, s: RegistrationSettings, cdx: number, cdy: number, fail: (why: string, q?: RegistrationQuality) => never): Promise<Registration> {
  const cv = opencv();
  const { x, y, image } = ref.interior;
  const x0 = Math.max(0, Math.round(x + cdx - FINE_SEARCH));
  const y0 = Math.max(0, Math.round(y + cdy - FINE_SEARCH));
  const x1 = Math.min(frame.cols, Math.round(x + cdx + FINE_SEARCH) + image.cols);
  const y1 = Math.min(frame.rows, Math.round(y + cdy + FINE_SEARCH) + image.rows);
  const quality: RegistrationQuality = { windows: ref.windows.length, matches: 0, inliers: 0, inlierRatio: 0, residualPx: NaN };
  if (x1 - x0 < image.cols || y1 - y0 < image.rows) fail('the frame is shifted too far for its reference', quality);
  const result = await frame.getRegion(new cv.Rect(x0, y0, x1 - x0, y1 - y0)).matchTemplateAsync(image, cv.TM_CCOEFF_NORMED);
  const peak = subPixelPeak(result);
  result.release();
  if (!(peak.score >= s.minScore)) fail(`the frame does not line up with its reference (correlation ${peak.score.toFixed(2)}, at least ${s.minScore})`, quality);
  // frame = ref + d, so ref = frame - d.
  const dx = x0 + peak.x - x;
  const dy = y0 + peak.y - y;
  if (Math.hypot(dx, dy) > s.maxShiftPx) fail(`shift ${Math.hypot(dx, dy).toFixed(1)} px (allowed ${s.maxShiftPx})`, quality);
  return { matrix: [1, 0, -dx, 0, 1, -dy], shiftPx: [-dx, -dy], rotationDeg: 0, scale: 1, quality: { ...quality, correlation: peak.score, fit: 'shift' } };
}

/** A frame-pixel box [x, y, w, h] for a box in reference pixels: the inverse transform of its corners. */
export function boxToFrame(box: [number, number, number, number], reg: Registration): [number, number, number, number] {
  const [a, , tx, b, , ty] = reg.matrix;
  const det = a * a + b * b;
  // The inverse of [[a, -b], [b, a]] is [[a, b], [-b, a]] / det.
  const inv = (x: number, y: number): [number, number] => [(a * (x - tx) + b * (y - ty)) / det, (-b * (x - tx) + a * (y - ty)) / det];
  const [x, y, w, h] = box;
  const pts = [inv(x, y), inv(x + w, y), inv(x, y + h), inv(x + w, y + h)];
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs);
  const y0 = Math.min(...ys);
  return [x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0];
}
