/**
 * `inspectd synth`: writes synthetic line images with ground truth, to train and evaluate
 * models on. It runs on training machines with node and nothing else, so it must not load
 * OpenCV, not even transitively: it imports only the pure renderer and encoders.
 *
 * Layout of DIR:
 *   000000.png ...     one image per index (PGM/PPM with format 'pgm': .pgm mono, .ppm colour)
 *   labels.jsonl       {"file","index","seed","defective","kinds","boxes"} per image, boxes [x,y,w,h]
 *   labels.csv         header `file,label`, label `good` or `defect` (what `inspectd eval` reads)
 * Existing label files are replaced, not appended to.
 */
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { encodePng, encodePnm, pnmExtension } from '../../source/synthetic/encode.js';
import { DEFECT_KINDS, renderPart } from '../../source/synthetic/render.js';

export interface SynthOptions {
  out: string;
  count: number;
  defectRate: number;
  seed: number;
  width: number;
  height: number;
  channels: 1 | 3;
  format: 'png' | 'pgm';
  /** Index of the first image; image i is the same whatever the start. Default 0. */
  start?: number;
  defectKinds?: string[];
}

export interface SynthSummary {
  images: number;
  defective: number;
}

export function imageFileName(index: number, format: 'png' | 'pgm', channels: 1 | 3): string {
  const ext = format === 'png' ? 'png' : pnmExtension(channels);
  return `${String(index).padStart(6, '0')}.${ext}`;
}

export async function synthCommand(opts: SynthOptions): Promise<SynthSummary> {
  check(opts);
  const start = opts.start ?? 0;
  await mkdir(opts.out, { recursive: true });
  const jsonl = await open(join(opts.out, 'labels.jsonl'), 'w');
  const csv = await open(join(opts.out, 'labels.csv'), 'w');
  const pixels = new Uint8Array(opts.width * opts.height * opts.channels);
  let defective = 0;
  try {
    await csv.write('file,label\n');
    for (let i = 0; i < opts.count; i++) {
      const index = start + i;
      const part = renderPart(
        {
          width: opts.width,
          height: opts.height,
          channels: opts.channels,
          defectRate: opts.defectRate,
          seed: opts.seed,
          defectKinds: opts.defectKinds,
          index,
        },
        pixels,
      );
      const file = imageFileName(index, opts.format, opts.channels);
      await writeFile(join(opts.out, file), opts.format === 'png' ? encodePng(part) : encodePnm(part));
      const t = part.truth;
      if (t.defective) defective++;
      await jsonl.write(
        JSON.stringify({ file, index, seed: opts.seed, defective: t.defective, kinds: t.kinds, boxes: t.boxes }) + '\n',
      );
      await csv.write(`${file},${t.defective ? 'defect' : 'good'}\n`);
    }
  } finally {
    await jsonl.close();
    await csv.close();
  }
  return { images: opts.count, defective };
}

function check(o: SynthOptions): void {
  if (!o.out) throw new UsageError('synth: --out is required');
  if (!Number.isInteger(o.count) || o.count < 0) throw new UsageError(`synth: --count ${o.count} is not a non-negative integer`);
  if (!(o.defectRate >= 0 && o.defectRate <= 1)) throw new UsageError(`synth: --defect-rate ${o.defectRate} outside 0..1`);
  if (!Number.isInteger(o.seed)) throw new UsageError(`synth: --seed ${o.seed} is not an integer`);
  for (const [name, v] of [
    ['--width', o.width],
    ['--height', o.height],
  ] as const) {
    if (!Number.isInteger(v) || v < 32 || v > 8192) throw new UsageError(`synth: ${name} ${v} not an integer in 32..8192`);
  }
  if (o.channels !== 1 && o.channels !== 3) throw new UsageError(`synth: --channels ${String(o.channels)} must be 1 or 3`);
  if (o.format !== 'png' && o.format !== 'pgm') throw new UsageError(`synth: --format ${String(o.format)} must be png or pgm`);
  if (o.start !== undefined && (!Number.isInteger(o.start) || o.start < 0)) {
    throw new UsageError(`synth: --start ${o.start} is not a non-negative integer`);
  }
  for (const k of o.defectKinds ?? []) {
    if (!(DEFECT_KINDS as readonly string[]).includes(k)) throw new UsageError(`synth: unknown defect kind "${k}"`);
  }
}
