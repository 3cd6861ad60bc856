/**
 * Exports a labelled image set through the daemon's own preprocessing (decode as readImage does:
 * imread IMREAD_COLOR, then resizeForModel, the function `inspectd run/infer` use), as uint8 .npy arrays for tools/model/train.py and
 * the INT8 calibration. Training on these bytes means the model sees exactly what the daemon feeds it.
 *
 * CSV (header required): path,label[,mask_path][,split][,class] with paths relative to the CSV's
 * folder; label `good` or `defect` (also 0/1); mask_path an 8-bit image the size of the image,
 * defect where >= 128 (optional: without it the map loss is skipped for that image); split
 * defaults to `train`. The magnetic-tile manifest.csv has this layout.
 *
 *   node dist/tools/model/export-dataset.js --csv ../shared/data/magnetic-tile/manifest.csv \
 *        --out .train/magnetic-tile --width 224 --height 224 [--color GRAY] [--spec model.json]
 * writes OUT/<split>.{images,masks,labels,mask_valid}.npy and OUT/<split>.meta.json
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadModelSpec, type InputSpec } from '../../src/model/spec.js';
import { resizeForModel } from '../../src/preprocess/preprocess.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { writeNpy } from './npy.js';

function arg(argv: string[], k: string, d?: string): string {
  const i = argv.indexOf(`--${k}`);
  if (i >= 0 && argv[i + 1] !== undefined) return argv[i + 1]!;
  if (d === undefined) throw new Error(`missing --${k}`);
  return d;
}

export function inputSpecFor(width: number, height: number, color: 'GRAY' | 'RGB' | 'BGR'): InputSpec {
  return {
    name: 'input',
    width,
    height,
    colorOrder: color,
    layout: 'NCHW',
    resize: 'stretch',
    padValue: 114,
    scale: 1 / 255,
    mean: [0],
    std: [1],
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const csvPath = resolve(arg(argv, 'csv'));
  const out = arg(argv, 'out');
  const specPath = arg(argv, 'spec', '');
  const input: InputSpec = specPath
    ? loadModelSpec(specPath).spec.input
    : inputSpecFor(Number(arg(argv, 'width', '224')), Number(arg(argv, 'height', '224')), arg(argv, 'color', 'GRAY') as 'GRAY');
  const root = dirname(csvPath);
  const lines = readFileSync(csvPath, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  const head = lines[0]!.split(',').map((s) => s.trim());
  const col = (name: string) => head.indexOf(name);
  if (col('path') < 0 || col('label') < 0) throw new Error(`${csvPath}: header needs path and label columns`);
  const rows = lines.slice(1).map((l) => {
    const f = l.split(',');
    const get = (name: string) => (col(name) >= 0 ? (f[col(name)] ?? '').trim() : '');
    return { path: get('path'), label: get('label'), mask: get('mask_path'), split: get('split') || 'train', cls: get('class') };
  });
  const cv = opencv();
  const C = input.colorOrder === 'GRAY' ? 1 : 3;
  const { width: W, height: H } = input;
  mkdirSync(out, { recursive: true });
  for (const split of [...new Set(rows.map((r) => r.split))]) {
    const sel = rows.filter((r) => r.split === split);
    const n = sel.length;
    const images = new Uint8Array(n * C * H * W);
    const masks = new Uint8Array(n * H * W);
    const labels = new Uint8Array(n);
    const valid = new Uint8Array(n);
    for (let k = 0; k < n; k++) {
      const r = sel[k]!;
      // The pixels readImage gives for 8-bit files (every dataset here; a 16-bit file would be reduced by
      // libpng here, by x*255/65535 in readImage), synchronously: thousands of imreadAsync calls in a row
      // crash node 20 here (V8 'Check failed: marking_done_' in a GC), see docs/models.md.
      const img = cv.imread(join(root, r.path), cv.IMREAD_COLOR);
      if (img.empty) throw new Error(`cannot read ${r.path}`);
      const { mat } = await resizeForModel(img, input);
      const px = mat.getData();
      if (C === 1) images.set(px, k * H * W);
      else {
        // HWC (interleaved) -> CHW
        for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) images[k * 3 * H * W + c * H * W + i] = px[i * 3 + c]!;
      }
      const defect = r.label === 'defect' || r.label === '1';
      labels[k] = defect ? 1 : 0;
      valid[k] = defect ? 0 : 1;
      if (r.mask) {
        const m = cv.imread(join(root, r.mask), cv.IMREAD_GRAYSCALE).threshold(127, 255, cv.THRESH_BINARY);
        const hasDefect = m.countNonZero() > 0;
        // the same resize the image got (GRAY spec: no colour change, same interpolation choice)
        const { mat: mm } = await resizeForModel(m, { ...input, colorOrder: 'GRAY' });
        masks.set(mm.getData(), k * H * W);
        valid[k] = defect ? (hasDefect ? 1 : 0) : 1;
      }
    }
    const stem = join(out, split);
    writeNpy(`${stem}.images.npy`, images, C === 1 ? [n, H, W] : [n, C, H, W]);
    writeNpy(`${stem}.masks.npy`, masks, [n, H, W]);
    writeNpy(`${stem}.labels.npy`, labels, [n]);
    writeNpy(`${stem}.mask_valid.npy`, valid, [n]);
    writeFileSync(`${stem}.meta.json`, JSON.stringify({ input, paths: sel.map((r) => r.path), classes: sel.map((r) => r.cls) }));
    console.log(`${stem}: ${n} images, ${labels.reduce((a, b) => a + b, 0)} defect, ${valid.filter((v) => v === 0).length} defect without mask`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
