import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { importCommand, type ImportCommandOptions } from '../../src/cli/commands/import.js';
import { openModel } from '../../src/inspect/model.js';
import { loadModelSpec } from '../../src/model/spec.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { readImage } from '../../src/source/read-image.js';
import { fixtureModel, MT_VAL, MT_VAL_SAMPLE, repoRoot, sample, shared } from '../decode/real-models.js';
import { CASES, expectReferences, scoreTolerance } from '../decode/yolo-references.js';
import { metadataSuffix, writeOnnx } from '../helpers/onnx-writer.js';
import { Capture } from '../infer/cli-helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'inspectd-import-'));
});

async function runImport(onnx: string, opts: ImportCommandOptions) {
  const out = new Capture();
  const err = new Capture();
  const code = await importCommand(onnx, opts, out, err);
  return { code, out: out.text, err: err.text };
}

const exportOf = (name: string) => resolve(shared, 'models', name, `${name}.onnx`);

describe('inspectd import: real Ultralytics exports', () => {
  for (const [name, cases] of Object.entries(CASES)) {
    it(`${name}: model.json from the export's metadata alone, then import -> infer gives the README's reference detections`, async () => {
      const outPath = join(dir, `${name}.json`);
      const first = cases[0]!;
      const r = await runImport(exportOf(name), { out: outPath, image: sample(name, first.image) });
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/ultralytics-v8/);
      expect(r.out).toMatch(new RegExp(`${first.image}: FAIL`));
      // The hand-written fixture (read from the READMEs) is what import must arrive at.
      const got = loadModelSpec(outPath).spec;
      const want = loadModelSpec(fixtureModel(name)).spec;
      expect(got.input).toEqual(want.input);
      expect(got.decoder).toEqual(want.decoder);
      expect(got.labels).toEqual(want.labels);
      expect(got.defaultPrecision).toBe('int8');
      const model = await openModel(outPath);
      try {
        for (const c of cases) {
          const image = await readImage(sample(name, c.image));
          const { decoded } = await model.inferImage(image);
          expectReferences(c, decoded, image, scoreTolerance(name));
        }
      } finally {
        await model.close();
      }
    });
  }

  it('refuses the degraded static-quant YOLO when run on a real image (scores 1.506), and writes nothing', async () => {
    const name = 'coco-yolov8n-qdq-320-degraded';
    const outPath = join(dir, 'degraded.json');
    const r = await runImport(exportOf(name), { out: outPath, image: sample(name, 'bus.jpg') });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/does not run as described.*1\.50\d.*INSPECTD_MODEL_OUTPUT_RANGE/s);
    expect(existsSync(outPath)).toBe(false);
  });

  it('refuses an Ultralytics task it cannot decode (pose), naming it', async () => {
    const posed = join(dir, 'pose.onnx');
    writeFileSync(posed, Buffer.concat([readFileSync(exportOf('coco-yolo11n-int8-320')), metadataSuffix({ task: 'pose' })]));
    const r = await runImport(posed, { out: join(dir, 'pose.json') });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/task "pose" is not one inspectd decodes.*INSPECTD_MODEL_IMPORT/);
  });
});

describe('inspectd import: the NMS-free 1 x N x 6 layout', () => {
  it('reads end2end from the metadata and decodes x1,y1,x2,y2,score,class rows to frame boxes', async () => {
    // A real ONNX graph: fixed detections plus 0 x max(image), so the output depends on the input.
    const dets = [10, 20, 110, 220, 0.9, 1, 50, 60, 150, 160, 0.6, 0, 0, 0, 5, 5, 0.1, 2];
    const onnx = join(dir, 'e2e.onnx');
    writeFileSync(
      onnx,
      writeOnnx({
        inputs: [{ name: 'images', dims: [1, 3, 320, 320] }],
        outputs: [{ name: 'output0', dims: [1, 3, 6] }],
        initializers: [
          { name: 'dets', dims: [1, 3, 6], values: dets },
          { name: 'zero', dims: [], values: [0] },
        ],
        nodes: [
          { op: 'ReduceMax', inputs: ['images'], outputs: ['m'], ints: { keepdims: 0 } },
          { op: 'Mul', inputs: ['m', 'zero'], outputs: ['z'] },
          { op: 'Add', inputs: ['dets', 'z'], outputs: ['output0'] },
        ],
        metadata: { author: 'Ultralytics', task: 'detect', imgsz: '[320, 320]', names: "{0: 'scratch', 1: 'dent', 2: \"o'ring\"}", end2end: 'True', stride: '32' },
      }),
    );
    const cv = opencv();
    const img = join(dir, 'grey640.png');
    cv.imwrite(img, new cv.Mat(640, 640, cv.CV_8UC3, [90, 90, 90]));
    const outPath = join(dir, 'e2e.json');
    const r = await runImport(onnx, { out: outPath, image: img });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/ultralytics-end2end/);
    const spec = loadModelSpec(outPath).spec;
    expect(spec.decoder).toMatchObject({ type: 'yolo', layout: 'end2end', output: 'output0' });
    expect(spec.labels).toEqual(['scratch', 'dent', "o'ring"]);
    expect(spec.defaultPrecision).toBe('fp32');
    // 640x640 frame letterboxed to 320: scale 0.5, no padding; the 0.1 row is under candidateThreshold.
    expect(r.out).toMatch(/FAIL score 0\.9000, 2 defect\(s\)/);
    expect(r.out).toMatch(/dent 0\.900 box \[20, 40, 200, 400\]/);
    expect(r.out).toMatch(/scratch 0\.600 box \[100, 120, 200, 200\]/);
  });
});

describe('inspectd import: Anomalib layout', () => {
  const fixtureDir = resolve(repoRoot, 'test/fixtures/models/magnetic-tile-anomalib');
  const anomalibMeta = JSON.parse(readFileSync(join(fixtureDir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
  // Anomalib 1.0 writes its albumentations transform into metadata.json beside the export.
  const transform = {
    __version__: '1.3.1',
    transform: {
      __class_fullname__: 'Compose',
      transforms: [
        { __class_fullname__: 'Resize', height: 224, width: 224, interpolation: 1 },
        { __class_fullname__: 'Normalize', mean: [0.429], std: [0.182], max_pixel_value: 255.0 },
        { __class_fullname__: 'ToTensorV2' },
      ],
    },
  };

  async function sameVerdictsAsFixture(outPath: string): Promise<void> {
    const a = await openModel(outPath);
    const b = await openModel(fixtureModel('magnetic-tile-anomalib'));
    try {
      for (const s of MT_VAL_SAMPLE) {
        const [ra, rb] = [await a.inferImage(await readImage(join(MT_VAL, s.file))), await b.inferImage(await readImage(join(MT_VAL, s.file)))];
        expect(ra.decoded.score, s.file).toBeCloseTo(rb.decoded.score, 6);
        expect(ra.decoded.candidates.length).toBe(rb.decoded.candidates.length);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }

  it('metadata.json beside the export: normalisation and input from it; the same scores as the hand-written model.json', async () => {
    const d = mkdtempSync(join(dir, 'anomalib-'));
    copyFileSync(join(fixtureDir, 'model.onnx'), join(d, 'model.onnx'));
    writeFileSync(join(d, 'metadata.json'), JSON.stringify({ ...anomalibMeta, transform }));
    const r = await runImport(join(d, 'model.onnx'), { image: join(MT_VAL, 'MT_Break/exp1_num_98080.jpg') });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/: anomalib\n/);
    const got = loadModelSpec(join(d, 'model.json')).spec;
    const want = loadModelSpec(fixtureModel('magnetic-tile-anomalib')).spec;
    expect(got.input).toEqual(want.input);
    expect(got.decoder).toEqual(want.decoder);
    expect(got.thresholds.default).toBe(0.5);
    await sameVerdictsAsFixture(join(d, 'model.json'));
  });

  it('normalisation from the ONNX metadata_props when there is no metadata.json (input normalisation given)', async () => {
    const d = mkdtempSync(join(dir, 'anomalib-props-'));
    const props = Object.fromEntries(['image_threshold', 'pixel_threshold', 'min', 'max'].map((k) => [k, String(anomalibMeta[k])]));
    writeFileSync(join(d, 'model.onnx'), Buffer.concat([readFileSync(join(fixtureDir, 'model.onnx')), metadataSuffix(props)]));
    const r = await runImport(join(d, 'model.onnx'), { mean: [0.429], std: [0.182] });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/metadata_props/);
    expect(loadModelSpec(join(d, 'model.json')).spec.decoder).toEqual(loadModelSpec(fixtureModel('magnetic-tile-anomalib')).spec.decoder);
    await sameVerdictsAsFixture(join(d, 'model.json'));
  });

  it('refuses raw Anomalib outputs without their normalisation metadata, saying which numbers and where to give them', async () => {
    const d = mkdtempSync(join(dir, 'anomalib-bare-'));
    copyFileSync(join(fixtureDir, 'model.onnx'), join(d, 'model.onnx'));
    writeFileSync(join(d, 'metadata.json'), JSON.stringify({ task: 'segmentation', image_threshold: 1.2 }));
    const r = await runImport(join(d, 'model.onnx'), {});
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/normalisation metadata.*lacks pixel_threshold, min, max.*--metadata.*INSPECTD_MODEL_IMPORT/);
    expect(existsSync(join(d, 'model.json'))).toBe(false);
  });
});

describe('inspectd import: a plain classifier', () => {
  const onnx = resolve(repoRoot, 'test/fixtures/models/magnetic-tile-classifier/model.onnx');

  it('refuses without class names, then with --labels and the input normalisation gives the fixture model.json and its scores', async () => {
    const bare = await runImport(onnx, { out: join(dir, 'cls-bare.json') });
    expect(bare.code).toBe(2);
    expect(bare.err).toMatch(/does not name its 2 classes; pass --labels/);
    const outPath = join(dir, 'cls.json');
    const r = await runImport(onnx, { out: outPath, labels: ['good', 'defect'], mean: [0.429], std: [0.182], threshold: 0.016611 });
    expect(r.code, r.err).toBe(0);
    const got = loadModelSpec(outPath).spec;
    const want = loadModelSpec(fixtureModel('magnetic-tile-classifier')).spec;
    expect(got.input).toEqual(want.input);
    expect(got.decoder).toEqual(want.decoder);
    expect(got.thresholds.default).toBe(want.thresholds.default);
    const [a, b] = [await openModel(outPath), await openModel(fixtureModel('magnetic-tile-classifier'))];
    try {
      for (const s of MT_VAL_SAMPLE.slice(0, 8)) {
        const img = join(MT_VAL, s.file);
        expect((await a.inferImage(await readImage(img))).decoded.score).toBeCloseTo((await b.inferImage(await readImage(img))).decoded.score, 7);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses what it cannot describe: two unnamed outputs, and keeps an existing model.json without --force', async () => {
    const onnx2 = join(dir, 'two-out.onnx');
    writeFileSync(
      onnx2,
      writeOnnx({
        inputs: [{ name: 'x', dims: [1, 3, 64, 64] }],
        outputs: [{ name: 'a', dims: [1, 3, 64, 64] }, { name: 'b', dims: [1, 3, 64, 64] }],
        nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['a'] }, { op: 'Neg', inputs: ['x'], outputs: ['b'] }],
      }),
    );
    const r = await runImport(onnx2, { out: join(dir, 'two.json') });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not an export inspectd can describe.*2 outputs \(a \[1, 3, 64, 64\], b \[1, 3, 64, 64\]\)/);
    const kept = join(dir, 'kept.json');
    writeFileSync(kept, '{}');
    expect((await runImport(onnx, { out: kept, labels: ['good', 'defect'] })).code).toBe(64);
    expect(readFileSync(kept, 'utf8')).toBe('{}');
  });
});

describe('inspectd import from the command line', () => {
  it('takes --labels and --mean/--std lists (exit 0) and refuses a non-number mean (exit 64)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { cliPath } = await import('../helpers/model.js');
    const onnx = resolve(repoRoot, 'test/fixtures/models/magnetic-tile-classifier/model.onnx');
    const out = join(dir, 'cli-cls.json');
    const ok = spawnSync(process.execPath, [cliPath, 'import', onnx, '--out', out, '--labels', 'good,defect', '--mean', '0.429', '--std', '0.182'], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/wrote .*cli-cls\.json/);
    expect(loadModelSpec(out).spec.labels).toEqual(['good', 'defect']);
    const bad = spawnSync(process.execPath, [cliPath, 'import', onnx, '--out', join(dir, 'x.json'), '--mean', 'grey'], { encoding: 'utf8' });
    expect(bad.status).toBe(64);
    expect(bad.stderr).toMatch(/--mean takes comma-separated numbers/);
  });
});
