import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/** Writes a little-endian .npy v1.0 file (uint8 or float32, C order) with a 64-byte-aligned header. */
export function writeNpy(path: string, data: Uint8Array | Float32Array, shape: readonly number[]): void {
  const descr = data instanceof Uint8Array ? '|u1' : '<f4';
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  let total = 10 + dict.length + 1;
  total = Math.ceil(total / 64) * 64;
  const header = Buffer.alloc(total, 0x20);
  header.write('\x93NUMPY', 0, 'latin1');
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(total - 10, 8);
  header.write(dict, 10, 'latin1');
  header[total - 1] = 0x0a;
  const expected = shape.reduce((a, b) => a * b, 1);
  if (data.length !== expected) throw new Error(`npy ${path}: ${data.length} elements for shape ${shape.join('x')}`);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // write in chunks: one writeSync of >2 GiB fails
    for (let off = 0; off < bytes.length; off += 1 << 28) writeSync(fd, bytes.subarray(off, Math.min(bytes.length, off + (1 << 28))));
  } finally {
    closeSync(fd);
  }
}

/** A float32 C-order .npy as written by `inspectd tensors`: the data and its shape. */
export function readNpyF32(path: string): { data: Float32Array; shape: number[] } {
  const buf = readFileSync(path);
  const hlen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + hlen);
  if (!header.includes("'<f4'")) throw new Error(`${path}: not little-endian float32`);
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1]!.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const off = 10 + hlen;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + buf.length));
  return { data, shape };
}
