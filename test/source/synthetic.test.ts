import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { synthCommand } from '../../src/cli/commands/synth.js';
import { opencv } from '../../src/preprocess/opencv.js';
import type { Frame } from '../../src/source/frame.js';
import { encodePng, encodePnm } from '../../src/source/synthetic/encode.js';
import { renderPart, type RenderPartParams } from '../../src/source/synthetic/render.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const base: RenderPartParams = { width: 640, height: 512, channels: 1, defectRate: 0.3, seed: 1, index: 0 };
const tmp = mkdtempSync(join(tmpdir(), 'inspectd-synth-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// OpenCV is part of the set-up (scripts/setup.sh): if it cannot load, these tests must fail, not skip.
const cv = opencv();

function render(over: Partial<RenderPartParams>) {
  return renderPart({ ...base, ...over });
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

describe('renderPart determinism', () => {
  it('same seed and index give identical bytes, whatever was rendered before', () => {
    const first = render({ index: 17, defectRate: 0.5 });
    for (let i = 0; i < 5; i++) render({ index: i, seed: 99 });
    const again = render({ index: 17, defectRate: 0.5 });
    expect(same(first.pixels, again.pixels)).toBe(true);
    expect(again.truth).toEqual(first.truth);
    const bgr1 = render({ index: 3, channels: 3, defectRate: 1 });
    const bgr2 = render({ index: 3, channels: 3, defectRate: 1 });
    expect(same(bgr1.pixels, bgr2.pixels)).toBe(true);
  });

  it('different seed or index gives a different image', () => {
    const a = render({ index: 4 });
    expect(same(a.pixels, render({ index: 4, seed: 2 }).pixels)).toBe(false);
    expect(same(a.pixels, render({ index: 5 }).pixels)).toBe(false);
  });

  it('renders into a caller buffer and rejects a wrong-sized one', () => {
    const buf = new Uint8Array(640 * 512);
    const r = renderPart({ ...base, index: 8 }, buf);
    expect(r.pixels).toBe(buf);
    expect(same(buf, render({ index: 8 }).pixels)).toBe(true);
    expect(() => renderPart({ ...base, index: 8 }, new Uint8Array(10))).toThrow(/need 327680/);
  });

  it('rejects bad options with INSPECTD_SOURCE', () => {
    expect(() => render({ defectKinds: ['dent'] })).toThrow(expect.objectContaining({ code: 'INSPECTD_SOURCE' }));
    expect(() => render({ defectRate: 1.5 })).toThrow(/defectRate/);
    expect(() => render({ width: 10 })).toThrow(/width/);
  });
});

describe('renderPart ground truth', () => {
  it('draws defects at about the configured rate', () => {
    let defective = 0;
    const n = 400;
    for (let i = 0; i < n; i++) if (render({ index: i, width: 320, height: 256 }).truth.defective) defective++;
    // binomial sd at 0.3 over 400 is 0.023: 3 sd
    expect(Math.abs(defective / n - 0.3)).toBeLessThan(0.07);
    let none = 0;
    let all = 0;
    for (let i = 0; i < 100; i++) {
      if (render({ index: i, defectRate: 0, width: 320, height: 256 }).truth.defective) none++;
      if (render({ index: i, defectRate: 1, width: 320, height: 256 }).truth.defective) all++;
    }
    expect(none).toBe(0);
    expect(all).toBeGreaterThanOrEqual(98);
  });

  it('labels one kind per box, boxes inside the frame, only the requested kinds', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 120; i++) {
      const { truth, width, height } = render({ index: i, defectRate: 1, channels: i % 2 ? 3 : 1 });
      expect(truth.kinds.length).toBe(truth.boxes.length);
      expect(truth.defective).toBe(truth.boxes.length > 0);
      expect(truth.boxes.length).toBeLessThanOrEqual(2);
      for (const [x, y, w, h] of truth.boxes) {
        expect(Number.isInteger(x) && Number.isInteger(y) && Number.isInteger(w) && Number.isInteger(h)).toBe(true);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(y).toBeGreaterThanOrEqual(0);
        expect(w).toBeGreaterThanOrEqual(1);
        expect(h).toBeGreaterThanOrEqual(1);
        expect(x + w).toBeLessThanOrEqual(width);
        expect(y + h).toBeLessThanOrEqual(height);
      }
      for (const k of truth.kinds) seen.add(k);
    }
    expect([...seen].sort()).toEqual(['crack', 'missing', 'scratch', 'spot']);
    for (let i = 0; i < 30; i++) {
      const { truth } = render({ index: i, defectRate: 1, defectKinds: ['spot', 'missing'] });
      for (const k of truth.kinds) expect(['spot', 'missing']).toContain(k);
    }
  });

  it('a defect changes the pixels inside its box, and only near it', () => {
    // Rate 0 and rate 1 draw the same part (separate PRNG streams), once clean, once damaged.
    const byKind: Record<string, number[]> = {};
    for (let i = 0; i < 60; i++) {
      for (const channels of [1, 3] as const) {
        const clean = render({ index: i, defectRate: 0, channels });
        const bad = render({ index: i, defectRate: 1, channels });
        const { width: w, height: h } = bad;
        const near = new Uint8Array(w * h);
        bad.truth.boxes.forEach(([x, y, bw, bh], k) => {
          let sum = 0;
          let max = 0;
          for (let yy = y; yy < y + bh; yy++) {
            for (let xx = x; xx < x + bw; xx++) {
              for (let c = 0; c < channels; c++) {
                const p = (yy * w + xx) * channels + c;
                const d = Math.abs(bad.pixels[p]! - clean.pixels[p]!);
                sum += d;
                if (d > max) max = d;
              }
            }
          }
          const kind = bad.truth.kinds[k]!;
          (byKind[kind] ??= []).push(sum / (bw * bh * channels));
          expect(max, `${kind} at index ${i}`).toBeGreaterThanOrEqual(15);
          for (let yy = Math.max(0, y - 2); yy < Math.min(h, y + bh + 2); yy++) {
            for (let xx = Math.max(0, x - 2); xx < Math.min(w, x + bw + 2); xx++) near[yy * w + xx] = 1;
          }
        });
        let strayPixels = 0;
        for (let p = 0; p < w * h; p++) {
          if (near[p]) continue;
          for (let c = 0; c < channels; c++) if (bad.pixels[p * channels + c] !== clean.pixels[p * channels + c]) strayPixels++;
        }
        expect(strayPixels, `index ${i}: pixels changed outside every defect box`).toBe(0);
      }
    }
    for (const [kind, diffs] of Object.entries(byKind)) {
      const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
      // thin marks fill little of their box, hence a modest mean
      expect(mean, kind).toBeGreaterThan(2);
    }
  });

  it('defective frames are not told apart by global brightness', () => {
    // AUC of a frame statistic for defective vs good: 0.5 is chance, 1 a perfect threshold.
    const stats: Record<'mean' | 'max' | 'min', [number[], number[]]> = { mean: [[], []], max: [[], []], min: [[], []] };
    for (let i = 0; i < 240; i++) {
      const r = render({ index: i, seed: 7, defectRate: 0.5 });
      let sum = 0;
      let max = 0;
      let min = 255;
      for (const v of r.pixels) {
        sum += v;
        if (v > max) max = v;
        if (v < min) min = v;
      }
      const c = r.truth.defective ? 1 : 0;
      stats.mean[c].push(sum / r.pixels.length);
      stats.max[c].push(max);
      stats.min[c].push(min);
    }
    const auc = ([good, bad]: [number[], number[]]) => {
      let a = 0;
      for (const d of bad) for (const g of good) a += d > g ? 1 : d === g ? 0.5 : 0;
      return a / (good.length * bad.length);
    };
    for (const [name, s] of Object.entries(stats)) {
      const a = auc(s);
      expect(Math.max(a, 1 - a), name).toBeLessThan(0.72);
    }
  });
});

// ---------------------------------------------------------------------------------------------

/** A deliberately separate, bit-by-bit CRC-32 so the encoder's table is checked, not trusted. */
function crcSlow(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

function decodePng(png: Buffer): { width: number; height: number; colourType: number; data: Buffer } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let off = 8;
  let width = 0;
  let height = 0;
  let colourType = -1;
  const idat: Buffer[] = [];
  const types: string[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const body = png.subarray(off + 8, off + 8 + len);
    expect(png.readUInt32BE(off + 8 + len), `${type} CRC`).toBe(crcSlow(png.subarray(off + 4, off + 8 + len)));
    types.push(type);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect(body[8]).toBe(8);
      colourType = body[9]!;
      expect([body[10], body[11], body[12]]).toEqual([0, 0, 0]);
    } else if (type === 'IDAT') idat.push(body);
    off += 12 + len;
  }
  expect(types[0]).toBe('IHDR');
  expect(types[types.length - 1]).toBe('IEND');
  const raw = inflateSync(Buffer.concat(idat));
  const bpp = colourType === 0 ? 1 : 3;
  const stride = width * bpp;
  expect(raw.length).toBe((stride + 1) * height);
  const data = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (stride + 1)]).toBe(0);
    raw.copy(data, y * stride, y * (stride + 1) + 1, (y + 1) * (stride + 1));
  }
  return { width, height, colourType, data };
}

function bgrToRgb(p: Uint8Array): Buffer {
  const out = Buffer.alloc(p.length);
  for (let i = 0; i < p.length; i += 3) {
    out[i] = p[i + 2]!;
    out[i + 1] = p[i + 1]!;
    out[i + 2] = p[i]!;
  }
  return out;
}

describe('encoders', () => {
  it('PNG round-trips mono and BGR (written as RGB)', () => {
    const mono = render({ index: 11, defectRate: 1, width: 200, height: 120 });
    const m = decodePng(encodePng(mono));
    expect([m.width, m.height, m.colourType]).toEqual([200, 120, 0]);
    expect(same(m.data, mono.pixels)).toBe(true);

    const bgr = render({ index: 11, defectRate: 1, width: 200, height: 120, channels: 3 });
    const c = decodePng(encodePng(bgr, 9));
    expect([c.width, c.height, c.colourType]).toEqual([200, 120, 2]);
    expect(same(c.data, bgrToRgb(bgr.pixels))).toBe(true);
  });

  it('PGM/PPM carry a binary header and the raw (RGB) pixels', () => {
    const mono = render({ index: 2, width: 64, height: 48 });
    const pgm = encodePnm(mono);
    const head = 'P5\n64 48\n255\n';
    expect(pgm.toString('latin1', 0, head.length)).toBe(head);
    expect(same(pgm.subarray(head.length), mono.pixels)).toBe(true);
    const bgr = render({ index: 2, width: 64, height: 48, channels: 3 });
    const ppm = encodePnm(bgr);
    const head3 = 'P6\n64 48\n255\n';
    expect(ppm.toString('latin1', 0, head3.length)).toBe(head3);
    expect(same(ppm.subarray(head3.length), bgrToRgb(bgr.pixels))).toBe(true);
  });

  it('refuses a buffer that does not match its size', () => {
    expect(() => encodePng({ pixels: new Uint8Array(5), width: 2, height: 2, channels: 1 })).toThrow(/needs 4/);
  });

  it('OpenCV reads our PNGs back to the same pixels', () => {
    for (const channels of [1, 3] as const) {
      const r = render({ index: 21, defectRate: 1, channels });
      const file = join(tmp, `cv-${channels}.png`);
      writeFileSync(file, encodePng(r));
      const mat = cv.imread(file, cv.IMREAD_UNCHANGED);
      expect([mat.rows, mat.cols, mat.channels]).toEqual([512, 640, channels]);
      expect(same(mat.getData(), r.pixels)).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('SyntheticCamera', async () => {
  const { SyntheticCamera } = await import('../../src/source/synthetic/camera.js');

  function collect(opts: ConstructorParameters<typeof SyntheticCamera>[0], onFrame?: (f: Frame) => void) {
    const frames: Frame[] = [];
    const errors: Error[] = [];
    let startedAt = 0;
    const ended = new Promise<void>((done) => {
      const cam = new SyntheticCamera({ ...opts, onEnd: done });
      // after construction: the constructor bakes textures on purpose, outside the frame clock
      startedAt = performance.now();
      void cam.start(
        (f) => {
          frames.push(f);
          onFrame?.(f);
        },
        (e) => errors.push(e),
      );
    });
    return { frames, errors, ended, startedAt: () => startedAt };
  }

  it('emits monotonic frameIds at the configured rate, the rendered part, then ends', async () => {
    const { frames, errors, ended, startedAt } = collect({ camera: 'cam1', fps: 50, count: 25, seed: 3, partIds: true });
    await ended;
    const elapsed = performance.now() - startedAt();
    expect(errors).toEqual([]);
    expect(frames.map((f) => f.frameId)).toEqual([...Array(25).keys()]);
    // 24 periods of 20 ms after the first frame; generous upper bound for a loaded CI box
    expect(elapsed).toBeGreaterThan(24 * 20 - 10);
    expect(elapsed).toBeLessThan(24 * 20 * 2);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.capturedAt).toBeGreaterThanOrEqual(frames[i - 1]!.capturedAt);
    const f = frames[7]!;
    expect(f.camera).toBe('cam1');
    expect(f.partId).toBe('cam1-7');
    expect([f.image.rows, f.image.cols, f.image.type]).toEqual([512, 640, cv.CV_8UC1]);
    const expected = renderPart({ ...base, seed: 3, index: 7 });
    expect(same(f.image.getData(), expected.pixels)).toBe(true);
    expect(f.truth).toEqual(expected.truth);
  });

  it('does not drift with a slow consumer, and drops slots rather than bursting when stalled', async () => {
    // Fake clock: each frame "costs" 3 ms inside onFrame. Chained 10 ms timeouts would put
    // frame k at 13k ms; an anchored schedule keeps it at 10k. Frame 20 stalls for 35 ms.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    try {
      const at: number[] = [];
      const { frames, ended } = collect({ camera: 'c', fps: 100, count: 40, width: 64, height: 64 }, (f) => {
        at.push(performance.now());
        vi.advanceTimersByTime(f.frameId === 20 ? 35 : 3);
      });
      const t0 = performance.now();
      await vi.advanceTimersByTimeAsync(1000);
      await ended;
      expect(frames.map((f) => f.frameId)).toEqual([...Array(40).keys()]);
      const rel = at.map((t) => Math.round(t - t0));
      expect(rel.slice(0, 21)).toEqual([...Array(21).keys()].map((k) => 10 * k));
      // the stall ends at 235 ms: slots 21 and 22 are dropped, slot 23 (due 230) goes at once,
      // and from there the grid is kept, two slots on
      expect(rel.slice(21, 24)).toEqual([235, 240, 250]);
      expect(rel[39]).toBe(410);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stop() means no further frames, from outside or from inside onFrame', async () => {
    const cam = new SyntheticCamera({ camera: 'c', fps: 200, width: 64, height: 64, startFrameId: 100, channels: 3 });
    const frames: Frame[] = [];
    await cam.start(
      (f) => frames.push(f),
      (e) => {
        throw e;
      },
    );
    await new Promise((r) => setTimeout(r, 60));
    await cam.stop();
    const n = frames.length;
    expect(n).toBeGreaterThan(2);
    await new Promise((r) => setTimeout(r, 60));
    expect(frames.length).toBe(n);
    expect(frames[0]!.frameId).toBe(100);
    expect(frames[0]!.partId).toBeNull();
    expect(frames[0]!.image.type).toBe(cv.CV_8UC3);

    const inner = new SyntheticCamera({ camera: 'c', fps: 200, width: 64, height: 64 });
    const seen: number[] = [];
    await inner.start(
      (f) => {
        seen.push(f.frameId);
        if (f.frameId === 2) void inner.stop();
      },
      () => {},
    );
    await new Promise((r) => setTimeout(r, 80));
    expect(seen).toEqual([0, 1, 2]);
    await expect(inner.start(() => {}, () => {})).rejects.toThrow(/already started/);
  });

  it('flags every Nth frame as corrupt with an empty image', async () => {
    const { frames, ended } = collect({ camera: 'c', fps: 500, count: 9, corruptEvery: 3, startFrameId: 4, width: 64, height: 64 });
    await ended;
    const corrupt = frames.filter((f) => f.truth?.corrupt).map((f) => f.frameId);
    expect(corrupt).toEqual([5, 8, 11]);
    for (const f of frames) {
      expect(Boolean(f.image.empty)).toBe(f.truth?.corrupt === true);
      if (!f.truth?.corrupt) expect(f.image.rows).toBe(64);
    }
  });

  it('rejects impossible settings at construction', () => {
    expect(() => new SyntheticCamera({ camera: 'c', fps: 0 })).toThrow(/fps/);
    expect(() => new SyntheticCamera({ camera: 'c', fps: 10, corruptEvery: 0 })).toThrow(/corruptEvery/);
    expect(() => new SyntheticCamera({ camera: 'c', fps: 10, width: 8 })).toThrow(/width/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('synth command', () => {
  it('writes images, labels.jsonl and labels.csv that match the renderer', async () => {
    const out = join(tmp, 'set');
    const summary = await synthCommand({ out, count: 8, defectRate: 0.5, seed: 5, width: 160, height: 128, channels: 1, format: 'png', start: 3 });
    const files = readdirSync(out).sort();
    expect(files).toEqual([...[3, 4, 5, 6, 7, 8, 9, 10].map((i) => `${String(i).padStart(6, '0')}.png`), 'labels.csv', 'labels.jsonl']);
    const labels = readFileSync(join(out, 'labels.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const csv = readFileSync(join(out, 'labels.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('file,label');
    expect(labels.length).toBe(8);
    expect(summary).toEqual({ images: 8, defective: labels.filter((l) => l.defective).length });
    labels.forEach((l, k) => {
      const r = renderPart({ width: 160, height: 128, channels: 1, defectRate: 0.5, seed: 5, index: 3 + k });
      expect(l).toEqual({ file: `${String(3 + k).padStart(6, '0')}.png`, index: 3 + k, seed: 5, ...r.truth });
      expect(csv[k + 1]).toBe(`${l.file},${l.defective ? 'defect' : 'good'}`);
      expect(same(decodePng(readFileSync(join(out, l.file))).data, r.pixels)).toBe(true);
    });
  });

  it('writes PPM for colour in pgm format, and refuses bad options', async () => {
    const out = join(tmp, 'ppm');
    await synthCommand({ out, count: 2, defectRate: 0.3, seed: 1, width: 64, height: 64, channels: 3, format: 'pgm' });
    expect(readdirSync(out).sort()).toEqual(['000000.ppm', '000001.ppm', 'labels.csv', 'labels.jsonl']);
    await expect(synthCommand({ out, count: 1, defectRate: 2, seed: 1, width: 64, height: 64, channels: 1, format: 'png' })).rejects.toThrow(
      expect.objectContaining({ code: 'INSPECTD_USAGE' }),
    );
  });

  it('never reaches OpenCV, even transitively (it runs on machines without it)', () => {
    const seen = new Set<string>();
    const bare: string[] = [];
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      // value imports and re-exports; `import type` vanishes at compile time
      for (const m of src.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) walk(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        else bare.push(spec);
      }
      for (const m of src.matchAll(/import\(\s*'([^']+)'\s*\)|require\(\s*'([^']+)'\s*\)/g)) bare.push((m[1] ?? m[2])!);
    };
    walk(join(repo, 'src/cli/commands/synth.ts'));
    expect(seen.size).toBeGreaterThanOrEqual(4);
    for (const spec of bare) expect(spec.startsWith('node:'), spec).toBe(true);
  });
});
