import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decoded } from '../../src/decode/decoder.js';
import { openModel, type OpenModel } from '../../src/inspect/model.js';
import { readImage } from '../../src/source/read-image.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { fixtureModel, MT_VAL, MT_VAL_SAMPLE, repoRoot, shared } from './real-models.js';

/**
 * The anomaly-map decoder on a real model in Anomalib's export layout, with Anomalib's min-max
 * normalisation metadata. test/fixtures/models/magnetic-tile-anomalib is inspectd's own trained
 * magnetic-tile network re-exported (tools/model/make_decoder_fixtures.py) so that it emits raw,
 * un-normalised outputs as Anomalib does: pred_score = the score logit z, anomaly_map = the map
 * logits bilinearly upsampled to the 224 x 224 input; image/pixel thresholds are Anomalib's F1-
 * adaptive thresholds on magnetic-tile val, min/max the raw range over val (metadata.json).
 *
 * Checked against the native model (models/magnetic-tile 1.0.0, FP32, sigmoid outputs: test/fixtures/models/magnetic-tile-1.0) on real val tiles:
 * the normalised score is clamp((z - t) / (max - min) + 0.5, 0, 1), a monotonic function of the
 * native pred_score sigmoid(z), so it orders the tiles the same way, lies in [0, 1], and its
 * verdict at 0.5 is the native verdict at sigmoid(t); regions cut from the normalised map at 0.5
 * land on the ground-truth defect masks.
 */
const VAL = MT_VAL;
const MT_IMAGES = MT_VAL_SAMPLE;

interface Row {
  file: string;
  defect: boolean;
  /** the fixture's raw (un-normalised) pred_score */
  raw: number;
  rawMap: Float32Array;
  decoded: Decoded;
  native: number;
  nativeMap: Float32Array;
  frame: { width: number; height: number };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const logit = (p: number) => Math.log(p / (1 - p));

/** Bounding box [x1, y1, x2, y2) of mask pixels >= 128 and their count, in frame pixels. */
async function maskBox(file: string): Promise<{ box: [number, number, number, number]; count: number; inBox: (b: number[]) => number }> {
  const cv = opencv();
  const gray = (await readImage(file)).cvtColor(cv.COLOR_BGR2GRAY);
  const w = gray.cols;
  const h = gray.rows;
  const data = gray.getData();
  let x1 = w;
  let y1 = h;
  let x2 = 0;
  let y2 = 0;
  let count = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (data[y * w + x]! >= 128) {
        count++;
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x + 1);
        y2 = Math.max(y2, y + 1);
      }
    }
  }
  const inBox = ([bx, by, bw, bh]: number[]) => {
    let n = 0;
    for (let y = Math.max(0, Math.floor(by!)); y < Math.min(h, Math.ceil(by! + bh!)); y++) {
      for (let x = Math.max(0, Math.floor(bx!)); x < Math.min(w, Math.ceil(bx! + bw!)); x++) if (data[y * w + x]! >= 128) n++;
    }
    return n;
  };
  return { box: [x1, y1, x2, y2], count, inBox };
}

describe('anomaly-map decoder on a real model in Anomalib layout with min-max metadata', () => {
  let ano: OpenModel;
  let native: OpenModel;
  const rows: Row[] = [];

  beforeAll(async () => {
    for (const { file } of MT_IMAGES) {
      if (!existsSync(resolve(VAL, file))) throw new Error(`magnetic-tile val image ${resolve(VAL, file)} is missing (../shared must sit beside the repo)`);
    }
    ano = await openModel(fixtureModel('magnetic-tile-anomalib'), { intraOpThreads: 1 });
    native = await openModel(fixtureModel('magnetic-tile-1.0'), { precision: 'fp32', intraOpThreads: 1 });
    for (const img of MT_IMAGES) {
      const image = await readImage(resolve(VAL, img.file));
      const prepared = await ano.prepare(image);
      const outputs = await ano.run(prepared);
      expect(outputs['pred_score']!.dims).toEqual([1]);
      expect(outputs['anomaly_map']!.dims).toEqual([1, 1, 224, 224]);
      const raw = (outputs['pred_score']!.data as Float32Array)[0]!;
      const rawMap = Float32Array.from(outputs['anomaly_map']!.data as Float32Array);
      const decoded = ano.decode(outputs, prepared);
      const np = await native.prepare(image);
      const nout = await native.run(np);
      const nativeDecoded = native.decode(nout, np);
      const nativeMap = Float32Array.from(nout['anomaly_map']!.data as Float32Array);
      expect(nout['anomaly_map']!.dims).toEqual([1, 1, 28, 28]);
      rows.push({ ...img, raw, rawMap, decoded, native: nativeDecoded.score, nativeMap, frame: { width: image.cols, height: image.rows } });
    }
  }, 60_000);

  afterAll(async () => {
    await ano?.close();
    await native?.close();
  });

  /** Anomalib's metadata as written beside the export; expectations use it, not the spec under test. */
  const META = JSON.parse(readFileSync(resolve(repoRoot, 'test/fixtures/models/magnetic-tile-anomalib/metadata.json'), 'utf8')) as {
    image_threshold: number;
    pixel_threshold: number;
    min: number;
    max: number;
  };
  const norm = () => ({ imageThreshold: META.image_threshold, pixelThreshold: META.pixel_threshold, min: META.min, max: META.max });

  it("carries Anomalib's metadata.json (image_threshold, pixel_threshold, min, max) as decoder.normalization", () => {
    const d = ano.spec.decoder;
    expect(d.type === 'anomaly-map' && d.normalization).toEqual(norm());
    expect(META.max).toBeGreaterThan(META.min);
    expect(ano.spec.thresholds.default).toBe(0.5);
    expect(ano.spec.input).toEqual(native.spec.input);
  });

  it("is un-normalised, as Anomalib exports: pred_score is the native score's logit, anomaly_map the native map's logits at input size", () => {
    for (const r of rows) {
      expect(Math.abs(sigmoid(r.raw) - r.native), r.file).toBeLessThan(1e-5);
      // anomaly_map = bilinear (align_corners=False) upsampling of the 28 x 28 map logits to 224 x 224,
      // recomputed here from the native map's sigmoid outputs wherever their logit is well defined
      let checked = 0;
      const src = (i: number) => Math.max(0, (i + 0.5) * (28 / 224) - 0.5);
      for (let y = 0; y < 224; y++) {
        const sy = src(y);
        const y0 = Math.floor(sy);
        const y1 = Math.min(y0 + 1, 27);
        const ly = sy - y0;
        for (let x = 0; x < 224; x++) {
          const sx = src(x);
          const x0 = Math.floor(sx);
          const x1 = Math.min(x0 + 1, 27);
          const lx = sx - x0;
          const ps = [r.nativeMap[y0 * 28 + x0]!, r.nativeMap[y0 * 28 + x1]!, r.nativeMap[y1 * 28 + x0]!, r.nativeMap[y1 * 28 + x1]!];
          if (ps.some((p) => p < 1e-4 || p > 1 - 1e-4)) continue; // logit of a float32 sigmoid is too coarse out there
          const [a, b, c, d] = ps.map(logit) as [number, number, number, number];
          const want = (1 - ly) * ((1 - lx) * a + lx * b) + ly * ((1 - lx) * c + lx * d);
          const got = r.rawMap[y * 224 + x]!;
          if (!(Math.abs(got - want) < 2e-3)) expect.fail(`${r.file} anomaly_map[${y}, ${x}] = ${got}, bilinear native logits give ${want}`);
          checked++;
        }
      }
      expect(checked, r.file).toBeGreaterThan(224 * 224 * 0.2);
    }
    // raw values run outside [0, 1]: without the normalisation block the decoder would refuse them
    expect(Math.min(...rows.map((r) => r.raw))).toBeLessThan(-5);
    expect(Math.max(...rows.map((r) => r.raw))).toBeGreaterThan(5);
  });

  it('normalises the score as clamp((z - image_threshold) / (max - min) + 0.5, 0, 1), inside [0, 1]', () => {
    const n = norm();
    for (const r of rows) {
      const want = Math.min(1, Math.max(0, (r.raw - n.imageThreshold) / (n.max - n.min) + 0.5));
      expect(r.decoded.score, r.file).toBeCloseTo(want, 12);
      expect(r.decoded.score).toBeGreaterThanOrEqual(0);
      expect(r.decoded.score).toBeLessThanOrEqual(1);
      expect(r.decoded.judge).toBe('part');
    }
  });

  it('orders the tiles exactly as the native sigmoid score does (monotonic, strictly where not clamped)', () => {
    const byNative = [...rows].sort((a, b) => a.native - b.native);
    for (let i = 1; i < byNative.length; i++) {
      const a = byNative[i - 1]!;
      const b = byNative[i]!;
      expect(b.native).toBeGreaterThan(a.native); // distinct native scores, so the order is defined
      expect(b.decoded.score, `${a.file} < ${b.file}`).toBeGreaterThanOrEqual(a.decoded.score);
      if (b.decoded.score < 1 && a.decoded.score > 0) expect(b.decoded.score, `${a.file} < ${b.file}`).toBeGreaterThan(a.decoded.score);
    }
    // the sample spans the range: far below, around and above the threshold (one clamps at 1)
    const s = rows.map((r) => r.decoded.score);
    expect(Math.min(...s)).toBeLessThan(0.2);
    expect(Math.max(...s)).toBe(1);
    expect(s.filter((v) => v > 0 && v < 1).length).toBeGreaterThanOrEqual(10);
  });

  it('FAILs at the normalised 0.5 exactly where the native model FAILs at the raw threshold sigmoid(image_threshold)', () => {
    const t = ano.spec.thresholds.default;
    const rawT = sigmoid(norm().imageThreshold);
    const verdicts = rows.map((r) => (r.decoded.score >= t ? 'FAIL' : 'PASS'));
    expect(verdicts).toEqual(rows.map((r) => (r.native >= rawT ? 'FAIL' : 'PASS')));
    for (const r of rows) expect(Math.abs(r.native - rawT), `${r.file} sits on the threshold`).toBeGreaterThan(1e-4);
    expect(verdicts.filter((v) => v === 'FAIL').length).toBe(5);
    expect(verdicts.filter((v) => v === 'PASS').length).toBe(7);
    rows.forEach((r, i) => {
      if (!r.defect) expect(verdicts[i], r.file).toBe('PASS');
    });
  });

  it('cuts exactly the 8-connected regions of normalised map >= 0.5, scaled from input to frame pixels', () => {
    const n = norm();
    const span = n.max - n.min;
    const nm = (v: number) => Math.fround(Math.min(1, Math.max(0, (v - n.pixelThreshold) / span + 0.5)));
    let regions = 0;
    for (const r of rows) {
      const on = (i: number) => nm(r.rawMap[i]!) >= 0.5;
      const seen = new Uint8Array(224 * 224);
      const want: { box: number[]; score: number }[] = [];
      for (let s = 0; s < 224 * 224; s++) {
        if (seen[s] || !on(s)) continue;
        let [x1, y1, x2, y2, peak] = [224, 224, -1, -1, -Infinity];
        const queue = [s];
        seen[s] = 1;
        while (queue.length) {
          const i = queue.pop()!;
          const x = i % 224;
          const y = (i - x) / 224;
          [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x), Math.max(y2, y)];
          peak = Math.max(peak, r.rawMap[i]!);
          for (const [dx, dy] of [[-1, -1], [0, -1], [1, -1], [-1, 0], [1, 0], [-1, 1], [0, 1], [1, 1]] as const) {
            const nx = x + dx;
            const ny = y + dy;
            const j = ny * 224 + nx;
            if (nx < 0 || ny < 0 || nx >= 224 || ny >= 224 || seen[j] || !on(j)) continue;
            seen[j] = 1;
            queue.push(j);
          }
        }
        const fx = r.frame.width / 224;
        const fy = r.frame.height / 224;
        want.push({ box: [x1 * fx, y1 * fy, (x2 + 1 - x1) * fx, (y2 + 1 - y1) * fy], score: nm(peak) });
      }
      const got = r.decoded.candidates.map((c) => ({ box: c.box!, score: c.score }));
      const key = (a: { box: number[] }) => a.box[1]! * 1e6 + a.box[0]!;
      want.sort((a, b) => key(a) - key(b));
      got.sort((a, b) => key(a) - key(b));
      expect(got.length, r.file).toBe(want.length);
      got.forEach((g, i) => {
        g.box.forEach((v, k) => expect(v, `${r.file} region ${i}`).toBeCloseTo(want[i]!.box[k]!, 6));
        expect(g.score, `${r.file} region ${i}`).toBeCloseTo(want[i]!.score, 6);
      });
      regions += want.length;
    }
    expect(regions).toBeGreaterThanOrEqual(8);
  });

  // The trained model's own localisation is imperfect: over all 78 defective val tiles the best
  // region's box overlaps the mask's box on 61 (no region at 0.5 on 8, the best one elsewhere on 9).
  // The sample's Break and Crack tiles were picked among the 61 (the first picks, Break
  // exp5_num_356780 and Crack exp1_num_85781, are among the misses); this check is about the
  // decoder's geometry on real maps, the exact region test above about its rule.
  it('cuts defect regions from the normalised map that land on the ground-truth masks', async () => {
    let checked = 0;
    for (const r of rows.filter((x) => x.defect && x.decoded.score >= 0.5)) {
      const mask = await maskBox(resolve(VAL, r.file.replace(/\.jpg$/, '.png')));
      expect(mask.count, `${r.file}: empty mask`).toBeGreaterThan(0);
      expect(r.decoded.candidates.length, `${r.file}: no region`).toBeGreaterThan(0);
      const best = r.decoded.candidates[0]!;
      expect(best.label).toBe('defect');
      expect(best.score).toBeGreaterThanOrEqual(0.5);
      expect(best.score).toBeLessThanOrEqual(1);
      const [bx, by, bw, bh] = best.box!;
      expect(bx).toBeGreaterThanOrEqual(0);
      expect(by).toBeGreaterThanOrEqual(0);
      expect(bx + bw).toBeLessThanOrEqual(r.frame.width + 1e-6);
      expect(by + bh).toBeLessThanOrEqual(r.frame.height + 1e-6);
      const [mx1, my1, mx2, my2] = mask.box;
      const ix = Math.min(bx + bw, mx2) - Math.max(bx, mx1);
      const iy = Math.min(by + bh, my2) - Math.max(by, my1);
      expect(ix > 0 && iy > 0, `${r.file}: best region [${best.box}] misses the mask box [${mask.box}]`).toBe(true);
      expect(mask.inBox(best.box!), `${r.file}: no mask pixel inside the best region`).toBeGreaterThan(0);
      checked++;
    }
    expect(checked).toBe(5);
  });
});
