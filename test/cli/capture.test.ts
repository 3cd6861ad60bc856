import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { captureCommand } from '../../src/cli/commands/capture.js';
import { loadModelSpec } from '../../src/model/spec.js';
import { opencv } from '../../src/preprocess/opencv.js';
import { preprocess, resizeForModel, toTensor } from '../../src/preprocess/preprocess.js';
import { renderPart } from '../../src/source/synthetic/render.js';
import { repoRoot } from '../helpers/model.js';
import { Capture } from '../infer/cli-helpers.js';

const MT = resolve(repoRoot, 'models/magnetic-tile/model.json');
const YOLO = resolve(repoRoot, 'test/fixtures/models/coco-yolo11n-int8-320/model.json');
let dir: string;
let config: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'inspectd-capture-'));
  config = join(dir, 'line.yaml');
  // Two synthetic cameras with different models: a mono one stretched to 224x224 GRAY and a
  // colour one letterboxed to 320x320 RGB. No broker is contacted: capture only runs the cameras.
  writeFileSync(
    config,
    [
      'station: t',
      `model: { path: ${MT} }`,
      'cameras:',
      '  - name: mono',
      '    source: { type: synthetic, fps: 25, width: 640, height: 512, seed: 7 }',
      '  - name: colour',
      `    model: { path: ${YOLO} }`,
      '    source: { type: synthetic, fps: 25, width: 640, height: 512, channels: 3, seed: 9 }',
      'mqtt: { url: "mqtt://127.0.0.1:1" }',
      '',
    ].join('\n'),
  );
});

interface Row { path: string; camera: string; frameId: number; capturedAt: number; truth: string }
function manifest(out: string): Row[] {
  const [head, ...rows] = readFileSync(join(out, 'frames.csv'), 'utf8').trim().split('\n');
  expect(head).toBe('path,camera,frameId,capturedAt,partId,source,truth,width,height');
  return rows.map((r) => {
    const c = r.split(',');
    return { path: c[0]!, camera: c[1]!, frameId: Number(c[2]), capturedAt: Date.parse(c[3]!), truth: c[6]! };
  });
}

/** The camera's frame, rendered again from its seed and frameId (the synthetic line is deterministic), as a Mat. */
function frameMat(seed: number, channels: 1 | 3, frameId: number) {
  const cv = opencv();
  const r = renderPart({ width: 640, height: 512, channels, defectRate: 0.3, seed, index: frameId });
  return { mat: new cv.Mat(Buffer.from(r.pixels), 512, 640, channels === 1 ? cv.CV_8UC1 : cv.CV_8UC3), truth: r.truth };
}

describe('inspectd capture', () => {
  it('keeps N frames per camera spread over time, each exactly the daemon\'s preprocessed view (and its tensor)', async () => {
    const out = join(dir, 'all');
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await captureCommand({ config, out, count: 3, everyMs: 150, maxSeconds: 60 }, stdout, stderr);
    expect(code, stderr.text).toBe(0);
    const rows = manifest(out);
    expect(rows.filter((r) => r.camera === 'mono')).toHaveLength(3);
    expect(rows.filter((r) => r.camera === 'colour')).toHaveLength(3);
    const cv = opencv();
    for (const cam of ['mono', 'colour'] as const) {
      const mine = rows.filter((r) => r.camera === cam);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.capturedAt - mine[i - 1]!.capturedAt).toBeGreaterThanOrEqual(150);
      const input = loadModelSpec(cam === 'mono' ? MT : YOLO).spec.input;
      for (const r of mine) {
        const { mat: frame, truth } = frameMat(cam === 'mono' ? 7 : 9, cam === 'mono' ? 1 : 3, r.frameId);
        expect(r.truth).toBe(truth.defective ? truth.kinds.join('+') : 'good');
        const want = (await resizeForModel(frame, input)).mat;
        const written = cv.imread(join(out, r.path), cv.IMREAD_UNCHANGED);
        expect([written.cols, written.rows]).toEqual([input.width, input.height]);
        // PNG holds BGR; the RGB model view was swapped back for the file.
        const got = input.colorOrder === 'RGB' ? written.cvtColor(cv.COLOR_BGR2RGB) : written;
        expect(Buffer.compare(got.getData(), want.getData()), `${r.path} differs from the daemon's view of frame ${r.frameId}`).toBe(0);
        // Read back as a file and preprocessed again (what `inspectd tensors` does for calibration), it is the daemon's tensor.
        const again = await preprocess(cv.imread(join(out, r.path), cv.IMREAD_COLOR), input);
        expect(Buffer.compare(Buffer.from(again.tensor.buffer), Buffer.from(toTensor(want, input).buffer))).toBe(0);
      }
    }
  });

  it('--camera keeps one camera; a non-empty folder, an unknown camera and a bad config are refused', async () => {
    const out = join(dir, 'one');
    const code = await captureCommand({ config, out, count: 2, everyMs: 50, camera: 'colour', maxSeconds: 60 }, new Capture(), new Capture());
    expect(code).toBe(0);
    expect(new Set(manifest(out).map((r) => r.camera))).toEqual(new Set(['colour']));

    const err1 = new Capture();
    expect(await captureCommand({ config, out, count: 1, everyMs: 0 }, new Capture(), err1)).toBe(64);
    expect(err1.text).toMatch(/not empty/);
    const err2 = new Capture();
    expect(await captureCommand({ config, out: join(dir, 'x'), count: 1, everyMs: 0, camera: 'nope' }, new Capture(), err2)).toBe(64);
    expect(err2.text).toMatch(/no camera "nope".*mono, colour/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'cameras:\n  - name: a\n    source: { type: synthetic, fps: -1 }\n');
    const err3 = new Capture();
    mkdirSync(join(dir, 'y'));
    expect(await captureCommand({ config: bad, out: join(dir, 'y'), count: 1, everyMs: 0 }, new Capture(), err3)).toBe(78);
    expect(err3.text).toMatch(/cameras\[0\]\.source\.fps/);
  });
});
