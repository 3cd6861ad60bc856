// CUDA preprocessing: camera frame -> model input tensor in one kernel (one pass: the frame is read
// once, the tensor written once, nothing in between).
//
// The arithmetic of each pixel (colour, demosaic, resize, all OpenCV's, so the tensor equals the
// CPU path's) lives in preprocess_pixel.cuh, the tensor stores in preprocess_store.cuh; this file
// holds the kernels, which decide how threads share that work, and the launcher that picks one.
#include <cuda_fp16.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "preprocess.h"
#include "preprocess_pixel.cuh"
#include "preprocess_store.cuh"

namespace inspectd {

namespace {

// The general kernel: any format, resize and layout. Each thread makes PX neighbouring pixels of a
// row. C (1 or 3 channels) is a template argument so every per-channel loop unrolls into registers.
// VEC: PX == 4 and the launcher checked dstWidth % 4 == 0 and a 16-byte aligned tensor.
template <int C, int PX, bool WORDS, bool LINEAR, bool VEC = false, int MINB = 1>
__global__ void __launch_bounds__(256, MINB) preprocessKernel(const PreprocessParams p, const uint8_t* __restrict__ src, void* __restrict__ dst) {
  const int x0 = (blockIdx.x * blockDim.x + threadIdx.x) * PX;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x0 >= p.dstWidth || y >= p.dstHeight) return;
  int v[PX < 4 ? 4 : PX][3];
#pragma unroll
  for (int k = 0; k < PX; ++k)
    if (x0 + k < p.dstWidth) pixelValue<C, WORDS, LINEAR>(p, src, x0 + k, y, v[k]);
  if (VEC) {
    store4<C>(p, dst, x0, y, v);
    return;
  }
  if (PX == 2 && p.nchw && !p.half && p.dstWidth % PX == 0) {
    const int plane = p.dstWidth * p.dstHeight;
    const int pixel = y * p.dstWidth + x0;
#pragma unroll
    for (int c = 0; c < C; ++c) {
      *reinterpret_cast<float2*>(static_cast<float*>(dst) + c * plane + pixel) = make_float2(normalise(p, v[0][c], c), normalise(p, v[1][c], c));
    }
    return;
  }
#pragma unroll
  for (int k = 0; k < PX; ++k) {
    if (x0 + k >= p.dstWidth) break;
    storePixel<C>(p, dst, x0 + k, y, v[k]);
  }
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

// Bayer RG8 binned 2x2 (INTER_AREA at exactly half size, OpenCV's block mean): the case where every
// source pixel is read. Each thread makes 4 neighbouring tensor pixels on each of ROWS rows: its
// window (2*ROWS + 2 source rows of 10 bytes, the quads' 8 columns and one each side) comes in 3
// aligned loads a row (8 bytes and the two bytes beside them from their words), neighbouring
// quads share its columns, and each row's 4 pixels leave in one vector store per plane. The
// frame's outer ring takes the per-tap path (OpenCV's border rule); same arithmetic, same result.
template <int C, int ROWS>
__global__ void __launch_bounds__(256) bayerBin2Kernel(const PreprocessParams p, const uint8_t* __restrict__ src, void* __restrict__ dst) {
  const int ox = 4 * (blockIdx.x * blockDim.x + threadIdx.x);
  const int oy = ROWS * (blockIdx.y * blockDim.y + threadIdx.y);
  if (ox >= p.dstWidth || oy >= p.dstHeight) return;
  const int x = 2 * ox, y = 2 * oy, w = p.srcWidth, h = p.srcHeight;
  int out[ROWS][4][3];
  if (x >= 4 && y >= 1 && x + 8 <= w - 2 && y + 2 * ROWS <= h - 2) {
    int q[2 * ROWS + 2][10];  // source rows y-1.., columns x-1..x+8
#pragma unroll
    for (int j = 0; j < 2 * ROWS + 2; ++j) {
      const uint32_t* row = reinterpret_cast<const uint32_t*>(src + static_cast<size_t>(y - 1 + j) * w + x);
      const uint32_t left = __ldg(row - 1), right = __ldg(row + 2);
      const uint2 mid = __ldg(reinterpret_cast<const uint2*>(row));
      q[j][0] = left >> 24;
#pragma unroll
      for (int i = 0; i < 4; ++i) q[j][1 + i] = (mid.x >> (8 * i)) & 0xff, q[j][5 + i] = (mid.y >> (8 * i)) & 0xff;
      q[j][9] = right & 0xff;
    }
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
      for (int k = 0; k < 4; ++k) binQuad<C>(p, [&](int a, int b) { return q[2 * r + a][2 * k + b]; }, out[r][k]);
  } else {
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      if (oy + r >= p.dstHeight) break;
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        int t[4][3];
        fetchQuad<false>(p, src, x + 2 * k, y + 2 * r, t);
#pragma unroll
        for (int c = 0; c < C; ++c) out[r][k][c] = (t[0][c] + t[1][c] + t[2][c] + t[3][c] + 2) >> 2;
      }
    }
  }
#pragma unroll
  for (int r = 0; r < ROWS; ++r)
    if (oy + r < p.dstHeight) store4<C>(p, dst, ox, oy + r, out[r]);
}

// DEV ONLY: the previous binned kernel, for the comparison.
// Bayer RG8 binned 2x2 (INTER_AREA at exactly half size, OpenCV's block mean): the case where every
// source pixel is read. One thread per tensor pixel, its 4x4 window in 8 aligned word loads, and
// the demosaic of its RGGB quad written out for the quad's fixed sites (R top-left, B bottom-right)
// instead of per tap with run-time parity: a third of the general kernel's integer work. Same
// arithmetic, so the same result; the frame's outer ring takes the general path (OpenCV's border).
template <int C>
__global__ void __launch_bounds__(256) bayerBin2KernelOld(const PreprocessParams p, const uint8_t* __restrict__ src, void* __restrict__ dst) {
  const int ox = blockIdx.x * blockDim.x + threadIdx.x;
  const int oy = blockIdx.y * blockDim.y + threadIdx.y;
  if (ox >= p.dstWidth || oy >= p.dstHeight) return;
  const int x = 2 * ox, y = 2 * oy, w = p.srcWidth, h = p.srcHeight;
  int out[3];
  if (x >= 1 && y >= 1 && x + 2 <= w - 2 && y + 2 <= h - 2) {
    int q[4][4];  // rows y-1..y+2, columns x-1..x+2
    loadWindow<true>(src, w, x - 1, y - 1, q);
    // R site (1,1), G on the red row (1,2), G on the blue row (2,1), B site (2,2): OpenCV's bilinear demosaic.
    const int rR = q[1][1], gR = (q[0][1] + q[2][1] + q[1][0] + q[1][2] + 2) >> 2, bR = (q[0][0] + q[0][2] + q[2][0] + q[2][2] + 2) >> 2;
    const int gG1 = q[1][2], rG1 = (q[1][1] + q[1][3] + 1) >> 1, bG1 = (q[0][2] + q[2][2] + 1) >> 1;
    const int gG2 = q[2][1], bG2 = (q[2][0] + q[2][2] + 1) >> 1, rG2 = (q[1][1] + q[3][1] + 1) >> 1;
    const int bB = q[2][2], gB = (q[1][2] + q[3][2] + q[2][1] + q[2][3] + 2) >> 2, rB = (q[1][1] + q[1][3] + q[3][1] + q[3][3] + 2) >> 2;
    if (C == 1) {
      // BGR->GRAY per tap, then the block mean: the CPU path converts colour before it resizes.
      out[0] = (toGray(bR, gR, rR) + toGray(bG1, gG1, rG1) + toGray(bG2, gG2, rG2) + toGray(bB, gB, rB) + 2) >> 2;
    } else {
      const int r = (rR + rG1 + rG2 + rB + 2) >> 2, g = (gR + gG1 + gG2 + gB + 2) >> 2, b = (bR + bG1 + bG2 + bB + 2) >> 2;
      toOrder(p, b, g, r, out);
    }
  } else {
    int t[4][3];  // the frame's outer ring: OpenCV's border rule, through the general taps
    fetchQuad<false>(p, src, x, y, t);
#pragma unroll
    for (int c = 0; c < C; ++c) out[c] = (t[0][c] + t[1][c] + t[2][c] + t[3][c] + 2) >> 2;
  }
  storePixel<C>(p, dst, ox, oy, out);
}

bool aligned(const void* at, uintptr_t to) { return (reinterpret_cast<uintptr_t>(at) & (to - 1)) == 0; }

template <int C, int PX, bool WORDS, bool LINEAR = false, bool VEC = false, int MINB = 1>
void launchGeneral(const PreprocessParams& p, const uint8_t* src, void* dst, cudaStream_t stream) {
  const dim3 block(32, 8);
  const int perBlockX = block.x * PX;
  const dim3 grid((p.dstWidth + perBlockX - 1) / perBlockX, (p.dstHeight + block.y - 1) / block.y);
  preprocessKernel<C, PX, WORDS, LINEAR, VEC, MINB><<<grid, block, 0, stream>>>(p, src, dst);
}

// DEV ONLY (removed before commit): which variant the benchmark times.
const char* variant() {
  static const char* v = getenv("INSPECTD_PREPROCESS_VARIANT") ? getenv("INSPECTD_PREPROCESS_VARIANT") : "";
  return v;
}
bool is(const char* name) { return strstr(variant(), name) != nullptr; }

// Which kernel makes the tensor: the fastest version measured on the H200 for each case
// (bench/gpu/RESULTS.md).
template <int C>
void launchFor(const PreprocessParams& p, const uint8_t* src, void* dst, cudaStream_t stream) {
  const bool bin2 = p.format == PixelFormat::BayerRg8 && p.resize == ResizeKind::Area && p.areaFastScale == 2 && (p.srcWidth & 3) == 0 &&
                    p.innerWidth == p.dstWidth && p.innerHeight == p.dstHeight && p.padLeft == 0 && p.padTop == 0;
  const bool vec = p.dstWidth % 4 == 0 && aligned(dst, 16);
  if (bin2 && vec && p.srcWidth % 8 == 0 && aligned(src, 8) && !is("bin1")) {
    const bool two = is("bin4x2");
    const dim3 block(32, 8);
    const int rows = two ? 2 : 1;
    const dim3 grid((p.dstWidth / 4 + block.x - 1) / block.x, (p.dstHeight + rows * block.y - 1) / (rows * block.y));
    if (two) {
      bayerBin2Kernel<C, 2><<<grid, block, 0, stream>>>(p, src, dst);
    } else {
      bayerBin2Kernel<C, 1><<<grid, block, 0, stream>>>(p, src, dst);
    }
  } else if (bin2) {
    const dim3 block(32, 8);
    const dim3 grid((p.dstWidth + block.x - 1) / block.x, (p.dstHeight + block.y - 1) / block.y);
    bayerBin2KernelOld<C><<<grid, block, 0, stream>>>(p, src, dst);
  } else if (p.resize == ResizeKind::Linear) {
    if (is("lin4") && vec) {
      launchGeneral<C, 4, true, true, true>(p, src, dst, stream);
    } else if (is("lin1o")) {
      launchGeneral<C, 1, true, true, false, 8>(p, src, dst, stream);
    } else if (is("lin2")) {
      launchGeneral<C, 2, true, true>(p, src, dst, stream);
    } else {
      launchGeneral<C, 1, true, true>(p, src, dst, stream);
    }
  } else {
    launchGeneral<C, 1, true>(p, src, dst, stream);
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
