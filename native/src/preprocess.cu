// CUDA preprocessing: camera frame -> model input tensor in one kernel (one pass: the frame is read
// once, the tensor written once, nothing in between).
//
// The arithmetic of each pixel (colour, demosaic, resize, all OpenCV's, so the tensor equals the
// CPU path's) lives in preprocess_pixel.cuh, the tensor stores in preprocess_store.cuh; this file
// holds the kernels, which decide how threads share that work, and the launcher that picks one.
#include <cuda_fp16.h>

#include <cstdint>

#include "preprocess.h"
#include "preprocess_pixel.cuh"
#include "preprocess_store.cuh"

namespace inspectd {

namespace {

// Blocks of 256 threads that fill one SM on each architecture compiled for (threads per SM: sm_75
// 1024; sm_86/87/89 1536; sm_80 and sm_90 2048): the register cap below asks for full occupancy,
// and a cap past an SM's thread limit would be ignored with a warning.
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ == 800 || __CUDA_ARCH__ >= 900
#define INSPECTD_FULL_SM_BLOCKS 8
#elif __CUDA_ARCH__ == 750
#define INSPECTD_FULL_SM_BLOCKS 4
#else
#define INSPECTD_FULL_SM_BLOCKS 6
#endif

// The general kernel: any format, resize and layout, one tensor pixel a thread. C (1 or 3 channels)
// is a template argument so every per-channel loop unrolls into registers. FULL: registers capped
// so that a whole SM's worth of blocks fits (32 on the H200). Tried and dropped (RESULTS.md): 2 and 4
// pixels a thread with vector stores, slower on every case here.
template <int C, bool WORDS, bool LINEAR, bool FULL = false>
__global__ void __launch_bounds__(256, FULL ? INSPECTD_FULL_SM_BLOCKS : 1) preprocessKernel(const PreprocessParams p, const uint8_t* __restrict__ src, void* __restrict__ dst) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= p.dstWidth || y >= p.dstHeight) return;
  int v[3];
  pixelValue<C, WORDS, LINEAR>(p, src, x, y, v);
  storePixel<C>(p, dst, x, y, v);
}

// OpenCV's bilinear demosaic of one RGGB quad from its 4x4 window q(row, column) (the quad's R site
// at (1,1), G on the red row (1,2), G on the blue row (2,1), B site (2,2)), written for those fixed
// sites instead of per tap with run-time parity; then the 2x2 block mean of resizeAreaFast. Grey
// converts each site before the mean: the CPU path converts colour before it resizes.
template <int C, typename Window>
__device__ __forceinline__ void binQuad(const PreprocessParams& p, Window q, int out[3]) {
  const int rR = q(1, 1), gR = (q(0, 1) + q(2, 1) + q(1, 0) + q(1, 2) + 2) >> 2, bR = (q(0, 0) + q(0, 2) + q(2, 0) + q(2, 2) + 2) >> 2;
  const int gG1 = q(1, 2), rG1 = (q(1, 1) + q(1, 3) + 1) >> 1, bG1 = (q(0, 2) + q(2, 2) + 1) >> 1;
  const int gG2 = q(2, 1), bG2 = (q(2, 0) + q(2, 2) + 1) >> 1, rG2 = (q(1, 1) + q(3, 1) + 1) >> 1;
  const int bB = q(2, 2), gB = (q(1, 2) + q(3, 2) + q(2, 1) + q(2, 3) + 2) >> 2, rB = (q(1, 1) + q(1, 3) + q(3, 1) + q(3, 3) + 2) >> 2;
  if (C == 1) {
    out[0] = (toGray(bR, gR, rR) + toGray(bG1, gG1, rG1) + toGray(bG2, gG2, rG2) + toGray(bB, gB, rB) + 2) >> 2;
  } else {
    const int r = (rR + rG1 + rG2 + rB + 2) >> 2, g = (gR + gG1 + gG2 + gB + 2) >> 2, b = (bR + bG1 + bG2 + bB + 2) >> 2;
    toOrder(p, b, g, r, out);
  }
}

// One window row from its three aligned words: the byte left of the 8, the 8, the byte right of them.
__device__ __forceinline__ void unpackRow(uint32_t left, uint2 mid, uint32_t right, int q[10]) {
  q[0] = left >> 24;
#pragma unroll
  for (int i = 0; i < 4; ++i) q[1 + i] = (mid.x >> (8 * i)) & 0xff, q[5 + i] = (mid.y >> (8 * i)) & 0xff;
  q[9] = right & 0xff;
}

// The frame's outer ring: 4 quads by the per-tap path (OpenCV's border rule), then the block means.
template <int C>
__device__ __forceinline__ void binBorder(const PreprocessParams& p, const uint8_t* __restrict__ src, int x, int y, int out[4][3]) {
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    int t[4][3];
    fetchQuad<false>(p, src, x + 2 * k, y, t);
#pragma unroll
    for (int c = 0; c < C; ++c) out[k][c] = (t[0][c] + t[1][c] + t[2][c] + t[3][c] + 2) >> 2;
  }
}

// The 4 tensor pixels at x, y of a thread whose window is inside the frame (not its outer ring).
template <int C>
__device__ __forceinline__ void binInner(const PreprocessParams& p, const uint8_t* __restrict__ src, int x, int y, int out[4][3]) {
  const int w = p.srcWidth;
  int q[4][10];  // source rows y-1..y+2, columns x-1..x+8
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const uint32_t* row = reinterpret_cast<const uint32_t*>(src + static_cast<size_t>(y - 1 + j) * w + x);
    unpackRow(__ldg(row - 1), __ldg(reinterpret_cast<const uint2*>(row)), __ldg(row + 2), q[j]);
  }
#pragma unroll
  for (int k = 0; k < 4; ++k) binQuad<C>(p, [&](int a, int b) { return q[a][2 * k + b]; }, out[k]);
}

__device__ __forceinline__ bool binInside(const PreprocessParams& p, int x, int y) {
  return x >= 4 && y >= 1 && x + 8 <= p.srcWidth - 2 && y + 2 <= p.srcHeight - 2;
}

// Bayer RG8 binned 2x2 (INTER_AREA at exactly half size, OpenCV's block mean): the case where every
// source pixel is read. A thread makes 4 neighbouring tensor pixels of a row: its window (4 source
// rows of 10 bytes, the quads' 8 columns and one each side) comes in 3 aligned loads a row,
// neighbouring quads share its columns, and the 4 pixels leave in one vector store per plane (32x4
// threads a block: 128 pixels x 4 rows; see BIN2_ROWS). The tensor's outer ring (rows 0 and last,
// the first and last 4 pixels of the others) takes the per-tap path (OpenCV's border rule; same
// arithmetic, same result), one pixel a thread, in blocks of their own (BIN2_THREADS threads too):
// the ones before `ringBlocks`, started first.
// Why apart: when a warp held both (2 warps in 10), its 31 other lanes idled while the one lane
// ran the per-tap code; ncu read 22.7 active lanes of 32 and the kernel took 12.6-12.7 us; apart,
// 30.2 lanes and 9.7-9.8 us (RESULTS.md, 2026-12-02 02:23).
// Slower on the H200 (RESULTS.md): 2 rows a thread; 8 pixels a thread with 16-byte loads; the
// window's middle bytes by 8-byte loads and its edges by shuffles; the block's rows staged in shared
// memory; registers capped for more blocks per SM; FADD for the int->float step and two quads a word
// in 16-bit lanes; streaming stores (02:38: FADD within noise of the default, streaming stores 0.3-0.7
// points below it, alone or with FADD).
//
// Tensor rows a block: 4 (128 threads). In the same run (RESULTS.md, 2026-12-02 02:38, three
// interleaved rounds) 9.45-9.57 us, 50.0-50.6% of the copy, against 9.59-9.73 us, 49.2-49.8%, for 8
// rows (256 threads). Why, not measured (no ncu in that call): at 48 registers an SM holds 5 blocks of
// 256 (1280 threads) but 10 of 128, the same threads in finer pieces, so a block's slot frees sooner
// when its warps end at different times.
constexpr int BIN2_ROWS = 4;
constexpr int BIN2_THREADS = 32 * BIN2_ROWS;
template <int C>
__global__ void __launch_bounds__(BIN2_THREADS) bayerBin2Kernel(const PreprocessParams p, const uint8_t* __restrict__ src, void* __restrict__ dst, int ringBlocks) {
  const int groups = p.dstWidth / 4, rows = p.dstHeight;
  if (static_cast<int>(blockIdx.x) < ringBlocks) {
    int i = blockIdx.x * blockDim.x + threadIdx.x, ox, oy;
    if (i < 2 * p.dstWidth) {
      ox = i % p.dstWidth, oy = i < p.dstWidth ? 0 : rows - 1;
    } else {
      i -= 2 * p.dstWidth;
      if (i >= 8 * (rows - 2)) return;
      ox = (i & 4) ? p.dstWidth - 4 + (i & 3) : (i & 3), oy = 1 + (i >> 3);
    }
    int t[4][3], v[3];
    fetchQuad<false>(p, src, 2 * ox, 2 * oy, t);
#pragma unroll
    for (int c = 0; c < C; ++c) v[c] = (t[0][c] + t[1][c] + t[2][c] + t[3][c] + 2) >> 2;
    storePixel<C>(p, dst, ox, oy, v);
    return;
  }
  const int b = blockIdx.x - ringBlocks, across = (groups + 31) / 32;
  const int g = (b % across) * 32 + (threadIdx.x & 31), oy = (b / across) * BIN2_ROWS + (threadIdx.x >> 5);
  if (g <= 0 || g >= groups - 1 || oy <= 0 || oy >= rows - 1) return;
  const int ox = 4 * g, x = 2 * ox, y = 2 * oy;
  int out[4][3];
  if (binInside(p, x, y)) {
    binInner<C>(p, src, x, y, out);
  } else {  // a window past the frame that the ring did not take (an odd height): the per-tap path
    binBorder<C>(p, src, x, y, out);
  }
  store4<C>(p, dst, ox, oy, out);
}

bool aligned(const void* at, uintptr_t to) { return (reinterpret_cast<uintptr_t>(at) & (to - 1)) == 0; }


template <int C, bool WORDS, bool LINEAR = false, bool FULL = false>
void launchGeneral(const PreprocessParams& p, const uint8_t* src, void* dst, cudaStream_t stream) {
  const dim3 block(32, 8);
  const dim3 grid((p.dstWidth + block.x - 1) / block.x, (p.dstHeight + block.y - 1) / block.y);
  preprocessKernel<C, WORDS, LINEAR, FULL><<<grid, block, 0, stream>>>(p, src, dst);
}

// Which kernel makes the tensor: the fastest version measured on the H200 for each case
// (bench/gpu/RESULTS.md, 2026-12-01 15:38: binned Bayer 4 pixels a thread 12.5 us against 12.9 for
// one, 2026-12-02 02:04: 12.7 against 16.2 for eight, 02:23: the ring apart 9.7-9.8, 02:38: 4 rows a
// block 9.5-9.6 against 9.6-9.7 for 8; BGR letterbox with registers capped at 32
// for full occupancy 6.1 us against 6.6, the same cap 2% slower on the Bayer letterbox). A frame or
// tensor that does not fit the vector paths' alignment takes the general kernel, which computes the
// same values.
template <int C>
void launchFor(const PreprocessParams& p, const uint8_t* src, void* dst, cudaStream_t stream) {
  const bool bin2 = p.format == PixelFormat::BayerRg8 && p.resize == ResizeKind::Area && p.areaFastScale == 2 && p.innerWidth == p.dstWidth &&
                    p.innerHeight == p.dstHeight && p.padLeft == 0 && p.padTop == 0;
  if (bin2 && p.srcWidth % 8 == 0 && p.dstWidth % 4 == 0 && p.dstWidth >= 8 && p.dstHeight >= 2 && aligned(src, 8) && aligned(dst, 16)) {
    const int ringPixels = 2 * p.dstWidth + 8 * (p.dstHeight - 2), ringBlocks = (ringPixels + BIN2_THREADS - 1) / BIN2_THREADS;
    const int blocks = ringBlocks + (p.dstWidth / 4 + 31) / 32 * ((p.dstHeight + BIN2_ROWS - 1) / BIN2_ROWS);
    bayerBin2Kernel<C><<<blocks, BIN2_THREADS, 0, stream>>>(p, src, dst, ringBlocks);
  } else if (p.resize == ResizeKind::Linear && p.format == PixelFormat::Bgr8) {
    launchGeneral<C, true, true, true>(p, src, dst, stream);
  } else if (p.resize == ResizeKind::Linear) {
    launchGeneral<C, true, true>(p, src, dst, stream);
  } else {
    launchGeneral<C, true>(p, src, dst, stream);
  }
}

}  // namespace

size_t frameBytes(const PreprocessParams& p) {
  return static_cast<size_t>(p.srcWidth) * p.srcHeight * (p.format == PixelFormat::Bgr8 ? 3 : 1);
}

size_t tensorBytes(const PreprocessParams& p) {
  return static_cast<size_t>(p.dstWidth) * p.dstHeight * p.channels * (p.half ? 2 : 4);
}

cudaError_t launchPreprocess(const PreprocessParams& p, const uint8_t* srcDevice, void* dstDevice, cudaStream_t stream) {
  if (p.channels == 1) {
    launchFor<1>(p, srcDevice, dstDevice, stream);
  } else {
    launchFor<3>(p, srcDevice, dstDevice, stream);
  }
  return cudaGetLastError();
}

}  // namespace inspectd
