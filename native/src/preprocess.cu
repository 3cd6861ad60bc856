// CUDA preprocessing: camera frame -> model input tensor in one kernel (one pass: the frame is read
// once, the tensor written once, nothing in between).
//
// The arithmetic of each pixel (colour, demosaic, resize, all OpenCV's, so the tensor equals the
// CPU path's) lives in preprocess_pixel.cuh, the tensor stores in preprocess_store.cuh; this file
// holds the kernels, which decide how threads share that work, and the launcher that picks one.
#include <cuda_fp16.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

// Packed arithmetic for two quads at once: two 16-bit lanes in one 32-bit word (lane 0 the quad at
// column c, lane 1 the one at c+2, which take the same formulas). Sums of at most 4 bytes + 2 never
// pass 16 bits, so a plain 32-bit add is two exact lane adds; after a shift the mask drops the bits
// lane 1 lent to lane 0. Same rounding as the scalar (a+b+1)>>1 and (a+b+c+d+2)>>2.
__device__ __forceinline__ uint32_t avg2p(uint32_t a, uint32_t b) { return ((a + b + 0x00010001u) >> 1) & 0x7fff7fffu; }
__device__ __forceinline__ uint32_t avg4p(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return ((a + b + c + d + 0x00020002u) >> 2) & 0x3fff3fffu;
}

// binQuad's RGB arithmetic on packed lanes: two neighbouring quads' block means in one pass.
template <typename Window>
__device__ __forceinline__ void binQuadPair(Window q, uint32_t& r, uint32_t& g, uint32_t& b) {
  const uint32_t rR = q(1, 1), gR = avg4p(q(0, 1), q(2, 1), q(1, 0), q(1, 2)), bR = avg4p(q(0, 0), q(0, 2), q(2, 0), q(2, 2));
  const uint32_t gG1 = q(1, 2), rG1 = avg2p(q(1, 1), q(1, 3)), bG1 = avg2p(q(0, 2), q(2, 2));
  const uint32_t gG2 = q(2, 1), bG2 = avg2p(q(2, 0), q(2, 2)), rG2 = avg2p(q(1, 1), q(3, 1));
  const uint32_t bB = q(2, 2), gB = avg4p(q(1, 2), q(3, 2), q(2, 1), q(2, 3)), rB = avg4p(q(1, 1), q(1, 3), q(3, 1), q(3, 3));
  r = avg4p(rR, rG1, rG2, rB), g = avg4p(gR, gG1, gG2, gB), b = avg4p(bR, bG1, bG2, bB);
}

// Bayer RG8 binned 2x2 (INTER_AREA at exactly half size, OpenCV's block mean): the case where every
// source pixel is read. Each thread makes 4 neighbouring tensor pixels of a row: its window (4
// source rows of 10 bytes, the quads' 8 columns and one each side) comes in 3 aligned loads a row
// (8 bytes, and the two bytes beside them from their words), neighbouring quads share its columns,
// and the 4 pixels leave in one vector store per plane. The frame's outer ring takes the per-tap
// path (OpenCV's border rule); same arithmetic, same result. (Slower, RESULTS.md: 2 rows a thread,
// registers capped for more blocks per SM.)
// V (benchmark knob, INSPECTD_PREPROCESS_VARIANT): 0 as at 15:44; 1 the same with the int->float
// conversion done by FADD (FASTCVT); 2 packed lanes (two quads an instruction, colour only) + 1;
// 3 diagnostic: the loads and stores only, no demosaic (wrong values; timed, never used).
template <int C, int V = 0>
__global__ void __launch_bounds__(256) bayerBin2Kernel(const PreprocessParams p, const uint8_t* __restrict__ src, void* __restrict__ dst) {
  const int ox = 4 * (blockIdx.x * blockDim.x + threadIdx.x);
  const int oy = blockIdx.y * blockDim.y + threadIdx.y;
  if (ox >= p.dstWidth || oy >= p.dstHeight) return;
  const int x = 2 * ox, y = 2 * oy, w = p.srcWidth, h = p.srcHeight;
  int out[4][3];
  if (x >= 4 && y >= 1 && x + 8 <= w - 2 && y + 2 <= h - 2) {
    if (V == 2 && C == 3) {
      // P[j][c] = column c | column c+2 << 16 of source row y-1+j (columns x-1..x+8 as 0..9).
      uint32_t P[4][8];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const uint32_t* row = reinterpret_cast<const uint32_t*>(src + static_cast<size_t>(y - 1 + j) * w + x);
        const uint32_t left = __ldg(row - 1), right = __ldg(row + 2);
        const uint2 mid = __ldg(reinterpret_cast<const uint2*>(row));
        const uint32_t m = 0x00ff00ffu;
        P[j][0] = __byte_perm(left, mid.x, 0x0503) & m;   // col 0 = left.b3, col 2 = x.b1
        P[j][1] = mid.x & m;                              // cols 1, 3
        P[j][2] = (mid.x >> 8) & m;                       // cols 2, 4
        P[j][3] = __byte_perm(mid.x, mid.y, 0x0402) & m;  // col 3 = x.b2, col 5 = y.b0
        P[j][4] = __byte_perm(mid.x, mid.y, 0x0503) & m;  // col 4 = x.b3, col 6 = y.b1
        P[j][5] = mid.y & m;                              // cols 5, 7
        P[j][6] = (mid.y >> 8) & m;                       // cols 6, 8
        P[j][7] = __byte_perm(mid.y, right, 0x0402) & m;  // col 7 = y.b2, col 9 = right.b0
      }
#pragma unroll
      for (int k = 0; k < 2; ++k) {
        uint32_t r, g, b;
        binQuadPair([&](int a, int c) { return P[a][4 * k + c]; }, r, g, b);
        toOrder(p, static_cast<int>(b & 0xffff), static_cast<int>(g & 0xffff), static_cast<int>(r & 0xffff), out[2 * k]);
        toOrder(p, static_cast<int>(b >> 16), static_cast<int>(g >> 16), static_cast<int>(r >> 16), out[2 * k + 1]);
      }
    } else {
      int q[4][10];  // source rows y-1..y+2, columns x-1..x+8
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const uint32_t* row = reinterpret_cast<const uint32_t*>(src + static_cast<size_t>(y - 1 + j) * w + x);
        const uint32_t left = __ldg(row - 1), right = __ldg(row + 2);
        const uint2 mid = __ldg(reinterpret_cast<const uint2*>(row));
        q[j][0] = left >> 24;
#pragma unroll
        for (int i = 0; i < 4; ++i) q[j][1 + i] = (mid.x >> (8 * i)) & 0xff, q[j][5 + i] = (mid.y >> (8 * i)) & 0xff;
        q[j][9] = right & 0xff;
      }
      if (V == 3) {
#pragma unroll
        for (int k = 0; k < 4; ++k)
#pragma unroll
          for (int c = 0; c < C; ++c) out[k][c] = q[c][2 * k] + q[3][2 * k + 1] + q[c][9];
      } else {
#pragma unroll
        for (int k = 0; k < 4; ++k) binQuad<C>(p, [&](int a, int b) { return q[a][2 * k + b]; }, out[k]);
      }
    }
  } else {
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      int t[4][3];
      fetchQuad<false>(p, src, x + 2 * k, y, t);
#pragma unroll
      for (int c = 0; c < C; ++c) out[k][c] = (t[0][c] + t[1][c] + t[2][c] + t[3][c] + 2) >> 2;
    }
  }
  store4<C, (V >= 1)>(p, dst, ox, oy, out);
}

// Benchmark knob (removed once a variant is chosen): INSPECTD_PREPROCESS_VARIANT=0..2. Variant 3 (loads
// and stores only, wrong values by design) is taken only with INSPECTD_PREPROCESS_BENCH=1 as well, so a
// stray variable on a line can never feed wrong tensors to an engine; anything else is variant 0.
int binVariant() {
  static const int v = [] {
    const char* e = std::getenv("INSPECTD_PREPROCESS_VARIANT");
    const int asked = e ? std::atoi(e) : 0;
    const char* bench = std::getenv("INSPECTD_PREPROCESS_BENCH");
    if (asked == 3) return bench && std::strcmp(bench, "1") == 0 ? 3 : 0;
    return asked >= 0 && asked <= 2 ? asked : 0;
  }();
  return v;
}

// Benchmark knob: INSPECTD_PREPROCESS_BLOCK=WxH (W*H = 256) for the binned kernel, default 32x8.
dim3 binBlock() {
  static const dim3 b = [] {
    unsigned w = 32, h = 8;
    const char* e = std::getenv("INSPECTD_PREPROCESS_BLOCK");
    if (e && std::sscanf(e, "%ux%u", &w, &h) == 2 && w * h == 256) return dim3(w, h);
    return dim3(32, 8);
  }();
  return b;
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
// one; BGR letterbox with registers capped at 32 for full occupancy 6.1 us against 6.6, the same cap
// 2% slower on the Bayer letterbox). A frame or tensor that does not fit the vector paths' alignment
// takes the general kernel, which computes the same values.
template <int C>
void launchFor(const PreprocessParams& p, const uint8_t* src, void* dst, cudaStream_t stream) {
  const bool bin2 = p.format == PixelFormat::BayerRg8 && p.resize == ResizeKind::Area && p.areaFastScale == 2 && p.innerWidth == p.dstWidth &&
                    p.innerHeight == p.dstHeight && p.padLeft == 0 && p.padTop == 0;
  if (bin2 && p.srcWidth % 8 == 0 && p.dstWidth % 4 == 0 && aligned(src, 8) && aligned(dst, 16)) {
    const dim3 block = binBlock();
    const dim3 grid((p.dstWidth / 4 + block.x - 1) / block.x, (p.dstHeight + block.y - 1) / block.y);
    switch (binVariant()) {
      case 1: bayerBin2Kernel<C, 1><<<grid, block, 0, stream>>>(p, src, dst); break;
      case 2: bayerBin2Kernel<C, 2><<<grid, block, 0, stream>>>(p, src, dst); break;
      case 3: bayerBin2Kernel<C, 3><<<grid, block, 0, stream>>>(p, src, dst); break;
      default: bayerBin2Kernel<C, 0><<<grid, block, 0, stream>>>(p, src, dst);
    }
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
