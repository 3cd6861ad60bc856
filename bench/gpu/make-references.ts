/**
 * Makes the CPU references the CUDA preprocessing is checked against on the GPU machine:
 * src/preprocess's resizeForModel (OpenCV) on seeded random frames and on real magnetic-tile and
 * DeepPCB images, for every pixel format (Bayer frames go through OpenCV's demosaic first) and
 * every spec in frames.ts.
 *
 *   node dist/bench/gpu/make-references.js OUT_DIR     (writes OUT_DIR/manifest.json + refs.bin)
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { opencv, type Mat } from '../../src/preprocess/opencv.js';
import { resizeForModel, toTensor } from '../../src/preprocess/preprocess.js';
import { planPreprocess, type PixelFormat } from '../../src/infer/tensorrt/plan.js';
import { channelsOf, EXTRA_CASES, randomFrame, RANDOM_FRAMES, specOf, SPECS, type ReferenceManifest } from './frames.js';

const SHARED = resolve(process.env.INSPECTD_SHARED ?? '../shared');
const IMAGES = [
  'data/magnetic-tile/val/MT_Blowhole',
  'data/magnetic-tile/val/MT_Crack',
  'data/magnetic-tile/val/MT_Free',
  'data/deeppcb/trainval/group13000',
];

const cv = opencv();
const chunks: Buffer[] = [];
let offset = 0;
function append(bytes: Uint8Array): number {
  const at = offset;
  chunks.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  offset += bytes.byteLength;
  return at;
}

/** The frame as the CPU path would get it: Bayer is demosaiced by OpenCV (RGGB = OpenCV's BayerBG). */
function cpuMat(pixels: Uint8Array, width: number, height: number, format: PixelFormat): Mat {
  const mat = new cv.Mat(Buffer.from(pixels), height, width, format === 'bgr8' ? cv.CV_8UC3 : cv.CV_8UC1);
  return format === 'bayer_rg8' ? mat.cvtColor(cv.COLOR_BayerBG2BGR) : mat;
}

/** RGGB mosaic of a BGR image: what a Bayer RG8 camera would have delivered. */
function mosaic(bgr: Mat): Uint8Array {
  const data = bgr.getData();
  const w = bgr.cols;
  const out = new Uint8Array(bgr.rows * w);
  for (let y = 0; y < bgr.rows; y++)
    for (let x = 0; x < w; x++) {
      const channel = y % 2 === 0 ? (x % 2 === 0 ? 2 : 1) : x % 2 === 0 ? 1 : 0;
      out[y * w + x] = data[(y * w + x) * 3 + channel]!;
    }
  return out;
}

function firstImage(dir: string): string {
  const file = readdirSync(join(SHARED, dir))
    .filter((f) => /\.(jpg|png)$/.test(f) && !f.endsWith('_temp.jpg'))
    .sort()[0];
  if (!file) throw new Error(`no image in ${join(SHARED, dir)}`);
  return join(dir, file);
}

async function main(): Promise<void> {
  const outDir = resolve(process.argv[2] ?? '.carry/gpu-refs');
  mkdirSync(outDir, { recursive: true });
  const manifest: ReferenceManifest = { created: new Date().toISOString(), opencv: cv.version ? `${cv.version.major}.${cv.version.minor}.${cv.version.revision}` : 'unknown', cpuNormalisationMaxAbs: 0, cases: [] };

  const frames: Array<{ id: string; pixels: Uint8Array; width: number; height: number; format: PixelFormat; frame: ReferenceManifest['cases'][number]['frame'] }> = [];
  for (const r of RANDOM_FRAMES) {
    frames.push({ id: `random-${r.width}x${r.height}-${r.format}`, pixels: randomFrame(r.width, r.height, channelsOf(r.format), r.seed), width: r.width, height: r.height, format: r.format, frame: r });
  }
  for (const dir of IMAGES) {
    {
      const rel = firstImage(dir);
      const colour = cv.imread(join(SHARED, rel), cv.IMREAD_COLOR);
      // Even size, so the Bayer mosaic has whole 2x2 cells.
      const even = colour.getRegion(new cv.Rect(0, 0, colour.cols & ~1, colour.rows & ~1)).copy();
      const variants: Array<[PixelFormat, Uint8Array]> = [
        ['mono8', new Uint8Array(even.cvtColor(cv.COLOR_BGR2GRAY).getData())],
        ['bgr8', new Uint8Array(even.getData())],
        ['bayer_rg8', mosaic(even)],
      ];
      for (const [format, pixels] of variants) {
        const at = append(pixels);
        frames.push({
          id: `${rel}-${format}`,
          pixels,
          width: even.cols,
          height: even.rows,
          format,
          frame: { kind: 'image', source: rel, width: even.cols, height: even.rows, format, offset: at, bytes: pixels.byteLength },
        });
      }
    }
  }

  const cases: Array<{ f: (typeof frames)[number]; spec: string }> = frames.flatMap((f) => Object.keys(SPECS).map((spec) => ({ f, spec })));
  for (const extra of EXTRA_CASES) {
    const r = extra.frame;
    const pixels = randomFrame(r.width, r.height, channelsOf(r.format), r.seed);
    cases.push({ f: { id: `random-${r.width}x${r.height}-${r.format}`, pixels, width: r.width, height: r.height, format: r.format, frame: r }, spec: extra.spec });
  }
  for (const { f, spec: name } of cases) {
    const spec = specOf(name);
    const mat = cpuMat(f.pixels, f.width, f.height, f.format);
    {
      const { mat: resized } = await resizeForModel(mat, spec);
      const u8 = new Uint8Array(resized.getData());
      // The float tensor is the 8-bit image through x*alpha + beta; record how exactly.
      const tensor = toTensor(resized, spec);
      const plan = planPreprocess(spec, { width: f.width, height: f.height, format: f.format });
      const C = spec.colorOrder === 'GRAY' ? 1 : 3;
      const plane = spec.width * spec.height;
      for (let i = 0; i < u8.length; i++) {
        const c = i % C;
        const p = Math.floor(i / C);
        const at = spec.layout === 'NCHW' ? c * plane + p : i;
        const mine = Math.fround(u8[i]! * Math.fround(plan.native.alpha[c]!) + Math.fround(plan.native.beta[c]!));
        manifest.cpuNormalisationMaxAbs = Math.max(manifest.cpuNormalisationMaxAbs, Math.abs(mine - tensor[at]!));
      }
      const refOffset = append(u8);
      manifest.cases.push({ id: `${f.id}:${name}`, spec: name, frame: f.frame, refOffset, refBytes: u8.byteLength });
      if (resized !== mat) resized.release();
    }
    mat.release();
  }
  writeFileSync(join(outDir, 'refs.bin'), Buffer.concat(chunks));
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  console.log(`${manifest.cases.length} cases, ${offset} bytes, CPU normalisation max |diff| ${manifest.cpuNormalisationMaxAbs}`);
}

await main();
