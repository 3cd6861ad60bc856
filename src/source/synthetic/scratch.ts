/**
 * Scratch buffers reused across frames: the daemon renders at up to 60 fps and per-frame
 * allocations of this size would keep the GC busy.
 */

let maskBuf = new Uint8Array(0);
let monoBuf = new Uint8Array(0);
let coverBuf = new Float32Array(0);
let lColBuf = new Int16Array(0);
let lColBeltBuf = new Int16Array(0);
let lRowBuf = new Int16Array(0);
let ringTabBuf = new Int16Array(0);

export interface Scratch {
  /** At least n long; callers use the first n. */
  mask: Uint8Array;
  mono: Uint8Array;
  lCol: Int16Array;
  lColBelt: Int16Array;
  lRow: Int16Array;
}

export function ensureScratch(n: number, w: number, h: number): Scratch {
  if (maskBuf.length < n) maskBuf = new Uint8Array(n);
  if (monoBuf.length < n) monoBuf = new Uint8Array(n);
  if (lColBuf.length < w) {
    lColBuf = new Int16Array(w);
    lColBeltBuf = new Int16Array(w);
  }
  if (lRowBuf.length < h) lRowBuf = new Int16Array(h);
  return { mask: maskBuf, mono: monoBuf, lCol: lColBuf, lColBelt: lColBeltBuf, lRow: lRowBuf };
}

export function cover(n: number): Float32Array {
  if (coverBuf.length < n) coverBuf = new Float32Array(Math.max(n, coverBuf.length * 2));
  coverBuf.fill(0, 0, n);
  return coverBuf;
}

export function ringTable(len: number): Int16Array {
  if (ringTabBuf.length < len) ringTabBuf = new Int16Array(len);
  return ringTabBuf;
}
