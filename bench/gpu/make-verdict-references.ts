/**
 * The CPU chain's verdicts that test/gpu/frame-verdicts.test.ts compares the GPU path with: real
 * models on real images through src/inspect/ (OpenCV preprocessing, ONNX Runtime, decoder, verdict
 * rules), each frame's pixels stored so the GPU machine (no OpenCV there) feeds the same frames to
 * the CUDA preprocessing. A Bayer RG8 frame is a mosaic of the colour image; its CPU verdict is of
 * OpenCV's demosaic of that mosaic, as a plant's CPU path would see it.
 *
 *   node dist/bench/gpu/make-verdict-references.js OUT_DIR   (OUT_DIR/verdicts.json + verdicts.bin + coco/)
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createDecoder } from '../../src/decode/index.js';
import type { PixelFormat } from '../../src/infer/backend.js';
import { OnnxRuntimeBackend } from '../../src/infer/onnxruntime/backend.js';
import { cameraInspection, inspectImage } from '../../src/inspect/camera.js';
import { wrapModel } from '../../src/inspect/model.js';
import { loadModelSpec, modelFile } from '../../src/model/spec.js';
import { opencv, type Mat } from '../../src/preprocess/opencv.js';
import { readImage } from '../../src/source/read-image.js';
import { renderPart } from '../../src/source/synthetic/render.js';
import type { Decision } from '../../src/verdict/types.js';

const SHARED = resolve(process.env.INSPECTD_SHARED ?? '../shared');

export interface VerdictReference {
  /** model.json, relative to the repository root (the COCO model travels in OUT_DIR/coco). */
  model: string;
  frame: string;
  width: number;
  height: number;
  format: PixelFormat;
  offset: number;
  bytes: number;
  decision: Decision;
}

/** RGGB mosaic of a BGR image (as bench/gpu/make-references.ts makes it). */
function mosaic(bgr: Mat): Uint8Array {
  const data = bgr.getData();
  const w = bgr.cols;
  const out = new Uint8Array(bgr.rows * w);
  for (let y = 0; y < bgr.rows; y++)
    for (let x = 0; x < w; x++) out[y * w + x] = data[(y * w + x) * 3 + (y % 2 === 0 ? (x % 2 === 0 ? 2 : 1) : x % 2 === 0 ? 1 : 0)]!;
  return out;
}

async function main(): Promise<void> {
  const cv = opencv();
  const outDir = resolve(process.argv[2] ?? '.carry/gpu-refs');
  mkdirSync(join(outDir, 'coco'), { recursive: true });
  // The fixture's model.json names the ONNX in ../shared, which does not travel: a copy beside it does.
  const cocoSpec = JSON.parse(readFileSync('test/fixtures/models/coco-yolov8n-int8-640/model.json', 'utf8'));
  cocoSpec.files = { int8: 'model.onnx' };
  writeFileSync(join(outDir, 'coco/model.json'), JSON.stringify(cocoSpec, null, 1));
  copyFileSync(join(SHARED, 'models/coco-yolov8n-int8-640/coco-yolov8n-int8-640.onnx'), join(outDir, 'coco/model.onnx'));

  const frames: Array<{ model: string; name: string; pixels: Uint8Array; width: number; height: number; format: PixelFormat; cpu: Mat }> = [];
  const asFrame = (model: string, name: string, image: Mat, format: PixelFormat = image.channels === 1 ? 'mono8' : 'bgr8') => {
    const pixels = format === 'bayer_rg8' ? mosaic(image) : new Uint8Array(image.getData());
    const cpu = format === 'bayer_rg8' ? new cv.Mat(Buffer.from(pixels), image.rows, image.cols, cv.CV_8UC1).cvtColor(cv.COLOR_BayerBG2BGR) : image;
    frames.push({ model, name, pixels, width: image.cols, height: image.rows, format, cpu });
  };
  const coco = join(outDir, 'coco/model.json');
  asFrame(coco, 'bus.jpg', await readImage(join(SHARED, 'models/coco-yolov8n-int8-640/samples/bus.jpg')));
  // Zidane at half size (640x360): pads above and below, and a quarter of the bytes to carry.
  asFrame(coco, 'zidane.jpg at 640x360', (await readImage(join(SHARED, 'models/coco-yolov8n-int8-640/samples/zidane.jpg'))).resize(360, 640, 0, 0, cv.INTER_AREA));
  asFrame(coco, 'bus.jpg as Bayer RG8', await readImage(join(SHARED, 'models/coco-yolov8n-int8-640/samples/bus.jpg')), 'bayer_rg8');
  for (const file of ['MT_Free/exp4_num_316364.jpg', 'MT_Blowhole/exp3_num_346347.jpg', 'MT_Crack/exp3_num_32171.jpg', 'MT_Uneven/exp4_num_109286.jpg']) {
    asFrame('models/magnetic-tile/model.json', file, await readImage(join(SHARED, 'data/magnetic-tile/val', file)));
  }
  for (let i = 0; i < 6; i++) {
    const part = renderPart({ width: 640, height: 512, channels: 1, defectRate: 0.5, seed: 11, index: i });
    asFrame('models/synthetic-line/model.json', `synthetic part ${i}`, new cv.Mat(Buffer.from(part.pixels), part.height, part.width, cv.CV_8UC1));
  }

  const refs: VerdictReference[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const model of [...new Set(frames.map((f) => f.model))]) {
    const loaded = loadModelSpec(model);
    const backend = await OnnxRuntimeBackend.create({ file: modelFile(loaded).file, precision: loaded.spec.defaultPrecision, intraOpThreads: 1 });
    const rules = { threshold: loaded.spec.thresholds.default, perClass: {}, minDefectAreaPx: 0, ignore: [] };
    const inspection = cameraInspection('cam1', wrapModel(loaded, [backend], createDecoder(loaded.spec)), rules);
    for (const f of frames.filter((x) => x.model === model)) {
      const decision = await inspectImage(inspection, f.cpu);
      chunks.push(Buffer.from(f.pixels));
      refs.push({ model: model.startsWith(outDir) ? join('.carry/gpu-refs', model.slice(outDir.length + 1)) : model, frame: f.name, width: f.width, height: f.height, format: f.format, offset, bytes: f.pixels.byteLength, decision });
      offset += f.pixels.byteLength;
      console.log(`${f.name} (${f.format}): ${decision.verdict} ${decision.score?.toFixed(3)} ${decision.defects.length} defects`);
    }
    await backend.close();
  }
  writeFileSync(join(outDir, 'verdicts.bin'), Buffer.concat(chunks));
  writeFileSync(join(outDir, 'verdicts.json'), JSON.stringify(refs, null, 1));
}

await main();
