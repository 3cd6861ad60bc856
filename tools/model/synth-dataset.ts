/**
 * Renders a synthetic-line training split straight into .npy arrays, preprocessed as the daemon
 * preprocesses the synthetic camera's frames for models/synthetic-line (GRAY, 640x512 -> 320x256
 * stretch with INTER_AREA, which for an exact 2x shrink of uint8 is (a+b+c+d+2)>>2 per 2x2 block;
 * test/model/synthetic-line.test.ts checks that bit-exactly against resizeForModel).
 *
 * Imports only the pure renderer (no OpenCV), so it runs under plain `node` on a training box.
 * Pixel masks come from the renderer's determinism: the same (seed, index) rendered with
 * defectRate 0 is the same part without its defects, so mask = inside a truth box AND the
 * pixel changed by >= 3 grey levels (at full resolution, then area-averaged like the image).
 *
 *   node dist/tools/model/synth-dataset.js --out DIR --name train --seeds 1000-1039 --per-seed 300 \
 *        [--defect-rate 0.5] [--shard 0/4]
 * writes DIR/<name>.<shard>.{images,masks,labels,mask_valid,meta}.npy/json
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderPart } from '../../src/source/synthetic/render.js';
import { writeNpy } from './npy.js';

interface Args {
  out: string;
  name: string;
  seeds: number[];
  perSeed: number;
  startIndex: number;
  defectRate: number;
  frameW: number;
  frameH: number;
  shard: number;
  shards: number;
}

function parseArgs(argv: string[]): Args {
  const get = (k: string, d?: string): string => {
    const i = argv.indexOf(`--${k}`);
    if (i >= 0 && argv[i + 1] !== undefined) return argv[i + 1]!;
    if (d === undefined) throw new Error(`missing --${k}`);
    return d;
  };
  const seedSpec = get('seeds');
  const seeds: number[] = [];
  for (const part of seedSpec.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let s = a!; s <= (b ?? a!); s++) seeds.push(s);
  }
  const [shard, shards] = get('shard', '0/1').split('/').map(Number);
  return {
    out: get('out'),
    name: get('name'),
    seeds,
    perSeed: Number(get('per-seed', '100')),
    startIndex: Number(get('start-index', '0')),
    defectRate: Number(get('defect-rate', '0.5')),
    frameW: Number(get('frame-width', '640')),
    frameH: Number(get('frame-height', '512')),
    shard: shard!,
    shards: shards!,
  };
}

/** 2x2 block mean with round-half-up: OpenCV INTER_AREA for an exact 2x shrink of 8-bit data. */
export function halve(src: Uint8Array, w: number, h: number, dst: Uint8Array, dstOff: number): void {
  const w2 = w >> 1;
  const h2 = h >> 1;
  for (let y = 0; y < h2; y++) {
    const r0 = 2 * y * w;
    const r1 = r0 + w;
    const o = dstOff + y * w2;
    for (let x = 0; x < w2; x++) {
      const c = 2 * x;
      dst[o + x] = (src[r0 + c]! + src[r0 + c + 1]! + src[r1 + c]! + src[r1 + c + 1]! + 2) >> 2;
    }
  }
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  mkdirSync(a.out, { recursive: true });
  const jobs: Array<[number, number]> = [];
  for (const s of a.seeds) for (let i = 0; i < a.perSeed; i++) jobs.push([s, a.startIndex + i]);
  const mine = jobs.filter((_, k) => k % a.shards === a.shard);
  const W = a.frameW;
  const H = a.frameH;
  const w = W >> 1;
  const h = H >> 1;
  const n = mine.length;
  const images = new Uint8Array(n * w * h);
  const masks = new Uint8Array(n * w * h);
  const labels = new Uint8Array(n);
  const valid = new Uint8Array(n);
  const meta: Array<{ seed: number; index: number; kinds: string[]; boxes: number[][] }> = [];
  const full = new Uint8Array(W * H);
  const clean = new Uint8Array(W * H);
  const fullMask = new Uint8Array(W * H);
  const t0 = Date.now();
  for (let k = 0; k < n; k++) {
    const [seed, index] = mine[k]!;
    const base = { width: W, height: H, channels: 1 as const, seed, index };
    const part = renderPart({ ...base, defectRate: a.defectRate }, full);
    halve(full, W, H, images, k * w * h);
    labels[k] = part.truth.defective ? 1 : 0;
    valid[k] = 1;
    if (part.truth.defective) {
      renderPart({ ...base, defectRate: 0 }, clean);
      fullMask.fill(0);
      let any = 0;
      for (const [bx, by, bw, bh] of part.truth.boxes) {
        for (let y = Math.max(0, by); y < Math.min(H, by + bh); y++) {
          for (let x = Math.max(0, bx); x < Math.min(W, bx + bw); x++) {
            const i = y * W + x;
            if (Math.abs(full[i]! - clean[i]!) >= 3) {
              fullMask[i] = 255;
              any++;
            }
          }
        }
      }
      if (any === 0) valid[k] = 0;
      halve(fullMask, W, H, masks, k * w * h);
    }
    meta.push({ seed, index, kinds: part.truth.kinds, boxes: part.truth.boxes });
  }
  const stem = join(a.out, `${a.name}.${a.shard}`);
  writeNpy(`${stem}.images.npy`, images, [n, h, w]);
  writeNpy(`${stem}.masks.npy`, masks, [n, h, w]);
  writeNpy(`${stem}.labels.npy`, labels, [n]);
  writeNpy(`${stem}.mask_valid.npy`, valid, [n]);
  writeFileSync(`${stem}.meta.json`, JSON.stringify(meta));
  const s = (Date.now() - t0) / 1000;
  console.log(`${stem}: ${n} images (${labels.reduce((x, y) => x + y, 0)} defective) in ${s.toFixed(1)} s`);
}

main();
