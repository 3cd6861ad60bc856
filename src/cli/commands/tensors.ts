import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { modelArgProblem } from '../model-arg.js';
import { errorMessage } from '../../errors.js';
import { loadModelSpec } from '../../model/spec.js';
import { readImage } from '../../source/read-image.js';
import { preprocess } from '../../preprocess/preprocess.js';
import { listImages } from '../../source/image-files.js';
import { EXIT_BAD_MODEL, EXIT_IMAGES_FAILED, EXIT_USAGE } from '../exit-codes.js';
import { describe } from './infer.js';

export interface TensorsOptions {
  model: string;
  /** The .npy file to write; FILE.files.txt lists the images in tensor order. */
  out: string;
  recursive?: boolean;
}

/**
 * .npy v1.0 header for a little-endian float32 C-order array. The header is padded to a fixed
 * 128 bytes (a multiple of 64, as numpy aligns) so it can be rewritten in place once the
 * final image count is known.
 */
export function npyHeader(shape: readonly number[]): Buffer {
  const HEADER_TOTAL = 128;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const headerLen = HEADER_TOTAL - 10;
  if (dict.length + 1 > headerLen) throw new Error(`npy shape ${shape.join('x')} does not fit the header`);
  const buf = Buffer.alloc(HEADER_TOTAL, 0x20);
  buf.write('\x93NUMPY', 0, 'latin1');
  buf[6] = 1;
  buf[7] = 0;
  buf.writeUInt16LE(headerLen, 8);
  buf.write(dict, 10, 'latin1');
  buf[HEADER_TOTAL - 1] = 0x0a;
  return buf;
}

/**
 * `inspectd tensors -m MODEL_JSON --out FILE.npy [--recursive] IMAGES_OR_DIR...`
 * Writes exactly the float32 tensors the daemon feeds the model (N x C x H x W for NCHW models,
 * N x H x W x C for NHWC), so INT8 calibration sees the daemon's own preprocessing. Images that
 * cannot be read are reported and left out of both files (exit 1).
 */
export async function tensorsCommand(
  inputs: readonly string[],
  opts: TensorsOptions,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
): Promise<number> {
  if (inputs.length === 0) {
    stderr.write('inspectd tensors: name at least one image or directory\n');
    return EXIT_USAGE;
  }
  const problem = modelArgProblem(opts.model);
  if (problem) {
    stderr.write(`inspectd tensors: ${problem}\n`);
    return EXIT_BAD_MODEL;
  }
  let spec;
  try {
    spec = loadModelSpec(opts.model).spec;
  } catch (err) {
    stderr.write(`inspectd tensors: cannot use model ${opts.model}: ${errorMessage(err)}\n`);
    return EXIT_BAD_MODEL;
  }
  const { files, problems } = listImages(inputs, opts.recursive);
  for (const p of problems) stderr.write(`inspectd tensors: ${p}\n`);
  let failed = problems.length;
  const written: string[] = [];
  let itemDims: number[] | undefined;
  mkdirSync(dirname(resolve(opts.out)), { recursive: true });
  const fd = openSync(opts.out, 'w');
  try {
    writeSync(fd, npyHeader([0]));
    for (const file of files) {
      try {
        const prepared = await preprocess(await readImage(file), spec.input);
        itemDims = prepared.dims.slice(1);
        const t = prepared.tensor;
        writeSync(fd, new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
        written.push(file);
      } catch (err) {
        failed++;
        stderr.write(`inspectd tensors: ${file}: ${describe(err)}\n`);
      }
    }
    const c = spec.input.colorOrder === 'GRAY' ? 1 : 3;
    const dims = itemDims ?? (spec.input.layout === 'NCHW' ? [c, spec.input.height, spec.input.width] : [spec.input.height, spec.input.width, c]);
    writeSync(fd, npyHeader([written.length, ...dims]), 0, 128, 0);
  } finally {
    closeSync(fd);
  }
  writeFileSync(`${opts.out}.files.txt`, written.map((f) => f + '\n').join(''));
  stdout.write(`${opts.out}: ${written.length} tensors (${spec.input.layout}, float32)\n`);
  return failed > 0 ? EXIT_IMAGES_FAILED : 0;
}
