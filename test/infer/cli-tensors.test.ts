import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { npyHeader, tensorsCommand } from '../../src/cli/commands/tensors.js';
import { readImage } from '../../src/source/read-image.js';
import { loadModelSpec } from '../../src/model/spec.js';
import { preprocess } from '../../src/preprocess/preprocess.js';
import { fixtureModel, sample } from '../decode/real-models.js';
import { Capture } from './cli-helpers.js';

const MODEL = 'coco-yolo11n-int8-320';

function readNpy(file: string): { shape: number[]; data: Float32Array; headerTotal: number } {
  const buf = readFileSync(file);
  expect(buf.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  expect([buf[6], buf[7]]).toEqual([1, 0]);
  const len = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + len).toString('latin1');
  expect(header).toMatch(/'descr': '<f4', 'fortran_order': False/);
  expect(header.endsWith('\n')).toBe(true);
  const shape = header.match(/'shape': \(([^)]*)\)/)![1]!.split(',').filter((s) => s.trim()).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + len, buf.byteOffset + buf.length));
  return { shape, data, headerTotal: 10 + len };
}

describe('inspectd tensors', () => {
  it('writes the daemon`s own preprocessed tensors as N x C x H x W float32 .npy plus the file order', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'inspectd-npy-')), 'calib.npy');
    const files = [sample(MODEL, 'zidane.jpg'), sample(MODEL, 'bus.jpg')];
    const code = await tensorsCommand(files, { model: fixtureModel(MODEL), out }, new Capture(), new Capture());
    expect(code).toBe(0);
    const npy = readNpy(out);
    expect(npy.headerTotal % 64).toBe(0);
    expect(npy.shape).toEqual([2, 3, 320, 320]);
    expect(readFileSync(`${out}.files.txt`, 'utf8')).toBe(files.join('\n') + '\n');
    const spec = loadModelSpec(fixtureModel(MODEL)).spec;
    const plane = 3 * 320 * 320;
    for (const [i, f] of files.entries()) {
      const expected = (await preprocess(await readImage(f), spec.input)).tensor;
      const got = npy.data.subarray(i * plane, (i + 1) * plane);
      expect(got.length).toBe(expected.length);
      let maxDiff = 0;
      for (let k = 0; k < got.length; k++) maxDiff = Math.max(maxDiff, Math.abs(got[k]! - expected[k]!));
      expect(maxDiff).toBe(0);
    }
  });

  it('leaves unreadable images out of both files and exits 1', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'inspectd-npy-')), 'calib.npy');
    const err = new Capture();
    const code = await tensorsCommand([sample(MODEL, 'bus.jpg'), '/nonexistent.png'], { model: fixtureModel(MODEL), out }, new Capture(), err);
    expect(code).toBe(1);
    expect(readNpy(out).shape).toEqual([1, 3, 320, 320]);
    expect(err.text).toMatch(/nonexistent\.png/);
  });

  it('pads the header to a 64-byte multiple for any shape', () => {
    expect(npyHeader([0]).length).toBe(128);
    expect(npyHeader([123456, 3, 640, 640]).toString('latin1')).toMatch(/'shape': \(123456, 3, 640, 640\), \} *\n$/);
  });
});
