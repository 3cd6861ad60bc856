/**
 * Image writers for the synthetic line: PNG (via node:zlib) and binary PGM/PPM.
 *
 * Pure JS on purpose: `inspectd synth` generates training sets on GPU machines that have node
 * but no OpenCV. Input is always the camera's layout (8-bit, row-major, mono or BGR); both file
 * formats want RGB, so colour frames are swapped on the way out.
 */
import { deflateSync } from 'node:zlib';
import { InspectdError } from '../../errors.js';

export interface RawImage {
  pixels: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

function check(img: RawImage): void {
  const { width, height, channels, pixels } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InspectdError('INSPECTD_SOURCE', `cannot encode a ${width}x${height} image`);
  }
  if (channels !== 1 && channels !== 3) {
    throw new InspectdError('INSPECTD_SOURCE', `cannot encode ${String(channels)} channels`);
  }
  if (pixels.length !== width * height * channels) {
    throw new InspectdError(
      'INSPECTD_SOURCE',
      `image buffer holds ${pixels.length} bytes, ${width}x${height}x${channels} needs ${width * height * channels}`,
    );
  }
}

// CRC-32 (IEEE), table driven. node:zlib.crc32 only exists from Node 20.15 and we promise 20.11.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  // the CRC covers type and data, not the length
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * 8-bit grey (colour type 0) or 8-bit RGB (colour type 2) PNG, filter 0 on every row.
 * `level` trades size for speed; sensor noise makes high levels buy little.
 */
export function encodePng(img: RawImage, level = 4): Buffer {
  check(img);
  const { width, height, channels, pixels } = img;
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const dst = y * (stride + 1); // raw[dst] = 0: filter type None
    const src = y * stride;
    if (channels === 1) {
      raw.set(pixels.subarray(src, src + stride), dst + 1);
    } else {
      for (let i = 0; i < stride; i += 3) {
        raw[dst + 1 + i] = pixels[src + i + 2]!;
        raw[dst + 2 + i] = pixels[src + i + 1]!;
        raw[dst + 3 + i] = pixels[src + i]!;
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 1 ? 0 : 2; // colour type
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Binary PGM (P5) for mono, PPM (P6, RGB) for BGR input. */
export function encodePnm(img: RawImage): Buffer {
  check(img);
  const { width, height, channels, pixels } = img;
  const header = Buffer.from(`${channels === 1 ? 'P5' : 'P6'}\n${width} ${height}\n255\n`, 'latin1');
  const body = Buffer.alloc(width * height * channels);
  if (channels === 1) {
    body.set(pixels);
  } else {
    for (let i = 0; i < body.length; i += 3) {
      body[i] = pixels[i + 2]!;
      body[i + 1] = pixels[i + 1]!;
      body[i + 2] = pixels[i]!;
    }
  }
  return Buffer.concat([header, body]);
}

/** File extension a frame gets for a format: PGM for mono, PPM for colour. */
export function pnmExtension(channels: 1 | 3): 'pgm' | 'ppm' {
  return channels === 1 ? 'pgm' : 'ppm';
}
