/**
 * The bytes the CUDA preprocessing kernel truly moves between DRAM and the chip, for the benchmark's
 * bandwidth figure: the 32-byte sectors (DRAM's access unit on NVIDIA GPUs) that hold a source pixel
 * the kernel reads (each resize tap and, for Bayer, the demosaic neighbours around it), plus the
 * tensor it writes, every byte of it once. A letterbox that skips source rows or columns is not
 * credited with bytes it never loads. Checked on the GPU machine against Nsight Compute's
 * dram__bytes_read.sum / dram__bytes_write.sum (bench/gpu/run-on-gpu-machine.sh).
 */
import type { PreprocessPlan } from '../../src/infer/tensorrt/plan.js';

const SECTOR = 32;
/** native/src/preprocess.h's enums. */
const FORMAT_BAYER = 2;
const FORMAT_BGR = 1;
const RESIZE_LINEAR = 1;

/** The source indices one axis reads: INTER_LINEAR's two taps (kernel arithmetic, float32), else all. */
function axisTaps(linear: boolean, inner: number, size: number, halo: number): Uint8Array {
  const used = new Uint8Array(size);
  if (!linear) return used.fill(1);
  const scale = 1 / (inner / size);
  for (let d = 0; d < inner; d++) {
    const f = Math.fround((d + 0.5) * scale - 0.5);
    const s = Math.floor(f);
    for (let i = s - halo; i <= s + 1 + halo; i++) used[Math.min(Math.max(i, 0), size - 1)] = 1;
  }
  return used;
}

export function kernelTraffic(plan: PreprocessPlan): { readBytes: number; writeBytes: number } {
  const n = plan.native;
  const bpp = n.format === FORMAT_BGR ? 3 : 1;
  const halo = n.format === FORMAT_BAYER ? 1 : 0; // the bilinear demosaic reads one pixel around each tap
  const linear = n.resize === RESIZE_LINEAR;
  const rows = axisTaps(linear, n.innerHeight, n.srcHeight, halo);
  const cols = axisTaps(linear, n.innerWidth, n.srcWidth, halo);
  const rowBytes = n.srcWidth * bpp;
  const colOffsets: number[] = [];
  for (let x = 0; x < n.srcWidth; x++) if (cols[x]) for (let b = 0; b < bpp; b++) colOffsets.push(x * bpp + b);
  let sectors = 0;
  for (let y = 0; y < n.srcHeight; y++) {
    if (!rows[y]) continue;
    let last = -1;
    for (const o of colOffsets) {
      const s = Math.floor((y * rowBytes + o) / SECTOR);
      if (s !== last) sectors++, (last = s);
    }
  }
  return { readBytes: Math.min(sectors * SECTOR, plan.frameBytes), writeBytes: plan.tensorBytes };
}
