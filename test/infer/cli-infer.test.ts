import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inferCommand } from '../../src/cli/commands/infer.js';
import { listImages } from '../../src/source/image-files.js';
import { fixtureModel, sample } from '../decode/real-models.js';
import { Capture } from './cli-helpers.js';

const NEU = 'neu-det-yolov8n-int8';
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'inspectd-infer-'));
  for (const f of ['scratches_274.jpg', 'patches_252.jpg', 'inclusion_296.jpg']) copyFileSync(sample(NEU, f), join(dir, f));
  // A truncated JPEG: a real header and nothing after it.
  writeFileSync(join(dir, 'corrupt.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46]));
  writeFileSync(join(dir, 'notes.txt'), 'not an image');
  mkdirSync(join(dir, 'sub'));
  copyFileSync(sample(NEU, 'pitted_surface_296.jpg'), join(dir, 'sub', 'pitted_surface_296.jpg'));
});

describe('inspectd infer', () => {
  it('prints one JSON line per readable image in sorted order, reports the corrupt one on stderr and exits 1', async () => {
    const out = new Capture();
    const err = new Capture();
    const code = await inferCommand([dir], { model: fixtureModel(NEU) }, out, err);
    expect(code).toBe(1);
    const lines = out.lines().map((l) => JSON.parse(l));
    expect(lines.map((l) => l.file)).toEqual(['inclusion_296.jpg', 'patches_252.jpg', 'scratches_274.jpg'].map((f) => join(dir, f)));
    for (const l of lines) {
      expect(Object.keys(l).sort()).toEqual(['defects', 'file', 'height', 'ms', 'score', 'verdict', 'width']);
      expect(l).toMatchObject({ verdict: 'FAIL', width: 200, height: 200 });
      expect(l.ms).toBeGreaterThan(0);
    }
    const patches = lines[1];
    expect(patches.defects.filter((d: { label: string }) => d.label === 'patches')).toHaveLength(3);
    expect(patches.score).toBeGreaterThan(0.85);
    expect(err.text).toMatch(/corrupt\.jpg.*cannot read image.*INSPECTD_IMAGE_READ/);
    expect(err.text).not.toMatch(/notes\.txt/);
  });

  it('descends into sub-folders only with --recursive', async () => {
    const out = new Capture();
    await inferCommand([dir], { model: fixtureModel(NEU), recursive: true }, out, new Capture());
    expect(out.lines().map((l) => JSON.parse(l).file)).toContain(join(dir, 'sub', 'pitted_surface_296.jpg'));
  });

  it('--threshold overrides the model threshold: a high one passes every part', async () => {
    const out = new Capture();
    const code = await inferCommand([join(dir, 'scratches_274.jpg')], { model: fixtureModel(NEU), threshold: 0.99 }, out, new Capture());
    expect(code).toBe(0);
    expect(JSON.parse(out.lines()[0]!)).toMatchObject({ verdict: 'PASS', defects: [] });
  });

  it('exits 1 for a path that does not exist but still judges the others', async () => {
    const out = new Capture();
    const err = new Capture();
    const code = await inferCommand([join(dir, 'missing.png'), join(dir, 'patches_252.jpg')], { model: fixtureModel(NEU) }, out, err);
    expect(code).toBe(1);
    expect(out.lines()).toHaveLength(1);
    expect(err.text).toMatch(/missing\.png: no such file/);
  });

  it('exits 2 at once with a clear message for an unreadable or broken model', async () => {
    const out = new Capture();
    const err = new Capture();
    expect(await inferCommand([dir], { model: join(dir, 'nope.json') }, out, err)).toBe(2);
    expect(out.text).toBe('');
    expect(err.text).toMatch(/cannot use model .*nope\.json.*INSPECTD_MODEL_SPEC_INVALID/);
    const err2 = new Capture();
    expect(await inferCommand([dir], { model: fixtureModel('coco-yolov8n-qdq-320-degraded') }, new Capture(), err2)).toBe(2);
    expect(err2.text).toMatch(/scoreRange.*INSPECTD_MODEL_OUTPUT_RANGE/);
  });
});

describe('listImages', () => {
  it('keeps explicitly named files, filters directories by extension and sorts them', () => {
    const { files, problems } = listImages([join(dir, 'notes.txt'), dir]);
    expect(files[0]).toBe(join(dir, 'notes.txt'));
    expect(files.slice(1).map((f) => f.slice(dir.length + 1))).toEqual(['corrupt.jpg', 'inclusion_296.jpg', 'patches_252.jpg', 'scratches_274.jpg']);
    expect(problems).toEqual([]);
  });
});
