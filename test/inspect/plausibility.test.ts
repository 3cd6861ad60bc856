import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError, errorCode } from '../../src/errors.js';
import { plausibilityRules, plausibleImage, type PlausibilityRules } from '../../src/inspect/plausibility.js';
import { opencv, type Mat } from '../../src/preprocess/opencv.js';
import type { Frame } from '../../src/source/frame.js';
import { readImage, readImageFile } from '../../src/source/read-image.js';
import { sharedRoot } from '../helpers/model.js';
import { encode, goodPart, HEIGHT, sixteenBit, truncated, uniform, WIDTH, withAlpha } from './capture-files.js';

/**
 * Real OpenCV on real encoded files: each kind of capture that cannot be a part gets its error
 * code, and real part images from three datasets and the synthetic line are not flagged.
 */
const cv = opencv();
const dir = mkdtempSync(join(tmpdir(), 'inspectd-plaus-'));

function cameraRules(camera: Record<string, unknown> = {}): PlausibilityRules {
  const cfg = parseConfig({ cameras: [{ name: 'cam1', source: { type: 'folder', path: dir }, ...camera }] }, 'test.yaml');
  return plausibilityRules(cfg.cameras[0]!);
}
const defaults = cameraRules();
const converting = cameraRules({ plausibility: { convert: true } });

function frameOf(image: Mat, readError?: Frame['readError']): Frame {
  return { camera: 'cam1', frameId: 0, capturedAt: Date.now(), partId: null, image, readError };
}

/** The code the frame's ERROR would carry, or 'judged' when it would reach the model. */
function verdictCode(image: Mat, rules: PlausibilityRules = defaults): string {
  try {
    plausibleImage(frameOf(image), rules);
    return 'judged';
  } catch (err) {
    return errorCode(err);
  }
}

async function readFails(bytes: Buffer, name: string): Promise<{ code: string; message: string }> {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  try {
    await readImageFile(file);
  } catch (err) {
    return { code: errorCode(err), message: (err as Error).message };
  }
  return { code: 'read', message: '' };
}

async function roundTrip(bytes: Buffer, name: string): Promise<Mat> {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return readImageFile(file);
}

describe('frames that cannot be a part are ERROR, never judged', () => {
  it('a 1x1 image is INSPECTD_FRAME_IMPLAUSIBLE for its size', async () => {
    const dot = await roundTrip(encode('.png', uniform(90, 1, 1)), 'one.png');
    expect(verdictCode(dot)).toBe('INSPECTD_FRAME_IMPLAUSIBLE');
    expect(() => plausibleImage(frameOf(dot), defaults)).toThrow(/1x1 px, smaller than plausibility.minSidePx 32/);
  });

  it.each([
    ['all black (capped lens)', 0],
    ['all white (blown exposure)', 255],
    ['all grey (dead sensor)', 128],
  ])('an %s frame is INSPECTD_FRAME_IMPLAUSIBLE', async (_what, value) => {
    expect(verdictCode(await roundTrip(encode('.jpg', uniform(value)), `uniform-${value}.jpg`))).toBe('INSPECTD_FRAME_IMPLAUSIBLE');
  });

  it('a uniform colour frame (every channel flat, e.g. a screen or a filter in front of the lens) is INSPECTD_FRAME_IMPLAUSIBLE', () => {
    expect(verdictCode(new cv.Mat(HEIGHT, WIDTH, cv.CV_8UC3, [40, 90, 200]))).toBe('INSPECTD_FRAME_IMPLAUSIBLE');
  });

  it('a capped lens with sensor noise (mean ~5, a grey level or two of noise) is INSPECTD_FRAME_IMPLAUSIBLE', () => {
    const pixels = Buffer.alloc(WIDTH * HEIGHT);
    for (let i = 0; i < pixels.length; i++) pixels[i] = 3 + ((i * 7919) % 5);
    expect(verdictCode(new cv.Mat(pixels, HEIGHT, WIDTH, cv.CV_8UC1))).toBe('INSPECTD_FRAME_IMPLAUSIBLE');
  });

  it('a truncated JPEG, which OpenCV decodes without complaint, is INSPECTD_IMAGE_READ', async () => {
    const cut = truncated(encode('.jpg', goodPart(1)), 0.6);
    // Why the bytes are checked: OpenCV returns a whole-sized image for the cut file.
    expect(cv.imdecode(cut, cv.IMREAD_UNCHANGED).rows).toBe(HEIGHT);
    const failed = await readFails(cut, 'cut.jpg');
    expect(failed.code).toBe('INSPECTD_IMAGE_READ');
    expect(failed.message).toMatch(/truncated JPEG/);
  });

  it('a JPEG padded with zeros after its end marker is whole', async () => {
    const padded = Buffer.concat([encode('.jpg', goodPart(1)), Buffer.alloc(64)]);
    expect(verdictCode(await roundTrip(padded, 'padded.jpg'))).toBe('judged');
  });

  it('a truncated PNG is INSPECTD_IMAGE_READ, named as truncated', async () => {
    const failed = await readFails(truncated(encode('.png', goodPart(1)), 0.6), 'cut.png');
    expect(failed.code).toBe('INSPECTD_IMAGE_READ');
    expect(failed.message).toMatch(/truncated PNG/);
  });

  it('a whole-length PNG with damaged pixel data is INSPECTD_IMAGE_READ (libpng refuses it: CRC or inflate error)', async () => {
    const bytes = Buffer.from(encode('.png', goodPart(1)));
    const idat = bytes.indexOf('IDAT');
    bytes[idat + 100] = bytes[idat + 100]! ^ 0xff;
    expect((await readFails(bytes, 'crc.png')).code).toBe('INSPECTD_IMAGE_READ');
  });

  it('the read error a source attaches to a frame is the frame ERROR code', async () => {
    const file = join(dir, 'cut-again.jpg');
    writeFileSync(file, truncated(encode('.jpg', goodPart(1)), 0.5));
    const readError = await readImageFile(file).then(
      () => undefined,
      (err: unknown) => err as Frame['readError'],
    );
    expect(readError).toBeDefined();
    expect(() => plausibleImage(frameOf(new cv.Mat(), readError), defaults)).toThrow(/truncated JPEG/);
  });

  it('a 16-bit PNG is read as 16-bit and is INSPECTD_FRAME_INVALID unless conversion is configured', async () => {
    const part = goodPart(2);
    const stored = await roundTrip(encode('.png', sixteenBit(part)), 'sixteen.png');
    expect(stored.depth).toBe(cv.CV_16U);
    expect(verdictCode(stored)).toBe('INSPECTD_FRAME_INVALID');
    const judged = plausibleImage(frameOf(stored), converting);
    expect([judged.depth, judged.channels]).toEqual([cv.CV_8U, 1]);
    expect(judged.absdiff(part).countNonZero()).toBe(0);
  });

  it('a 4-channel PNG is read with its alpha and is INSPECTD_FRAME_INVALID unless conversion is configured', async () => {
    const part = goodPart(3, 3);
    const stored = await roundTrip(encode('.png', withAlpha(part)), 'alpha.png');
    expect(stored.channels).toBe(4);
    expect(verdictCode(stored)).toBe('INSPECTD_FRAME_INVALID');
    const judged = plausibleImage(frameOf(stored), converting);
    expect(judged.channels).toBe(3);
    expect(judged.absdiff(part).cvtColor(cv.COLOR_BGR2GRAY).countNonZero()).toBe(0);
  });

  it('the CLI reads a 16-bit file as the daemon converts it', async () => {
    const part = goodPart(2);
    const file = join(dir, 'cli-sixteen.png');
    writeFileSync(file, encode('.png', sixteenBit(part)));
    const image = await readImage(file);
    expect(image.channels).toBe(3);
    expect(image.cvtColor(cv.COLOR_BGR2GRAY).absdiff(part).countNonZero()).toBe(0);
  });
});

describe('the frame must match what its camera is configured for', () => {
  const synthetic = (plausibility: Record<string, unknown> = {}) =>
    cameraRules({ source: { type: 'synthetic', width: WIDTH, height: HEIGHT, channels: 1 }, plausibility });

  it('a synthetic camera expects its own size and channels; a folder camera any', () => {
    expect(synthetic()).toMatchObject({ size: { width: WIDTH, height: HEIGHT }, channels: 1 });
    expect(defaults.size).toBeUndefined();
    expect(defaults.channels).toBeUndefined();
    expect(cameraRules({ plausibility: { width: 800, height: 600, channels: 3 } })).toMatchObject({ size: { width: 800, height: 600 }, channels: 3 });
  });

  it('a frame of another size or channel count is INSPECTD_FRAME_IMPLAUSIBLE', () => {
    expect(verdictCode(goodPart(4), synthetic())).toBe('judged');
    expect(verdictCode(goodPart(4).resize(HEIGHT / 2, WIDTH / 2), synthetic())).toBe('INSPECTD_FRAME_IMPLAUSIBLE');
    expect(verdictCode(goodPart(4, 3), synthetic())).toBe('INSPECTD_FRAME_IMPLAUSIBLE');
    // Without a configured size the same small frame is a part.
    expect(verdictCode(goodPart(4).resize(HEIGHT / 2, WIDTH / 2))).toBe('judged');
  });

  it('limits are the camera\'s: a dark line may lower minBrightness', () => {
    const dark = uniform(0);
    dark.getRegion(new cv.Rect(100, 100, 200, 200)).setTo(60);
    expect(verdictCode(dark)).toBe('INSPECTD_FRAME_IMPLAUSIBLE');
    expect(verdictCode(dark, cameraRules({ plausibility: { minBrightness: 2 } }))).toBe('judged');
  });
});

describe('real part images are judged (no false ERROR on the shipped data)', () => {
  const dataset = (sub: string, filter: (f: string) => boolean) =>
    (readdirSync(resolve(sharedRoot, sub), { recursive: true }) as string[]).filter(filter).map((f) => resolve(sharedRoot, sub, f));

  it.each([
    ['magnetic-tile val', dataset('data/magnetic-tile/val', (f) => f.endsWith('.jpg'))],
    ['NEU-DET samples (steel, lowest contrast 9)', dataset('models/neu-det-yolov8n-int8/samples', (f) => f.endsWith('.jpg'))],
  ])('%s, with the default limits', async (_name, files) => {
    expect(files.length).toBeGreaterThan(5);
    const flagged: string[] = [];
    for (const f of files) {
      const code = verdictCode(await readImageFile(f));
      if (code !== 'judged') flagged.push(`${f}: ${code}`);
    }
    expect(flagged).toEqual([]);
  });

  it('DeepPCB\'s binarised boards, with maxBrightness 255: every inspected image judged, only the blank templates flagged', async () => {
    // Thresholded black/white images sit up to 255 mean (defaults would flag 36 of 2,000); such a line raises maxBrightness.
    const rules = cameraRules({ plausibility: { maxBrightness: 255 } });
    const files = dataset('data/deeppcb/trainval', (f) => f.endsWith('.jpg'));
    expect(files.length).toBe(2000);
    const flagged: string[] = [];
    for (const f of files) {
      const code = verdictCode(await readImageFile(f), rules);
      if (code !== 'judged') flagged.push(`${f.split('/').pop()}: ${code}`);
    }
    // Three templates are blank white board (standard deviation 0): uniform, so not a part.
    expect(flagged.sort()).toEqual(['20085159_temp.jpg', '20085167_temp.jpg', '20085168_temp.jpg'].map((f) => `${f}: INSPECTD_FRAME_IMPLAUSIBLE`));
  });

  it('synthetic line parts, mono and colour', () => {
    for (let i = 0; i < 20; i++) expect(verdictCode(goodPart(i, i % 2 === 0 ? 1 : 3))).toBe('judged');
  });
});

describe('plausibility config', () => {
  const issues = (plausibility: unknown): string[] => {
    try {
      parseConfig({ cameras: [{ name: 'cam1', source: { type: 'synthetic' }, plausibility }] }, 'test.yaml');
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
      throw err;
    }
  };

  it('has defaults, and the embedded camera has them too', () => {
    expect(parseConfig({}, 'x').cameras[0]!.plausibility).toEqual({ minSidePx: 32, convert: false, minBrightness: 8, maxBrightness: 247, minContrast: 4 });
    expect(defaults).toMatchObject({ minSidePx: 32, convert: false, minBrightness: 8, maxBrightness: 247, minContrast: 4 });
    // A partial block keeps the defaults of what it leaves out.
    expect(converting).toMatchObject({ minSidePx: 32, convert: true, minBrightness: 8, maxBrightness: 247, minContrast: 4 });
  });

  it('names the field of each mistake', () => {
    expect(issues({ width: 640 })).toEqual([expect.stringMatching(/^cameras\[0\]\.plausibility\.height: /)]);
    expect(issues({ minBrightness: 200, maxBrightness: 100 })).toEqual([expect.stringMatching(/^cameras\[0\]\.plausibility\.minBrightness: /)]);
    expect(issues({ convrt: true })).toEqual([expect.stringMatching(/^cameras\[0\]\.plausibility\.convrt: /)]);
    expect(issues({ channels: 4 })).toEqual([expect.stringMatching(/^cameras\[0\]\.plausibility\.channels: /)]);
  });
});
