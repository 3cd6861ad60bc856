// CUDA preprocessing: camera frame -> model input tensor in one kernel.
//
// Each thread makes one tensor pixel. It reads the source taps it needs, converts each tap's
// colour to 8 bits exactly as OpenCV's cvtColor does (fixed-point BGR->GRAY, bilinear Bayer
// demosaic), resizes in OpenCV's own arithmetic (INTER_LINEAR: 11-bit fixed-point weights;
// INTER_AREA: its float area weights), rounds to 8 bits as the CPU path's 8-bit Mat does, then
// normalises and writes float32 or float16, planar or interleaved. Matching the CPU path's
// rounding is why the colour conversion is done per tap rather than on floats.
#include <cuda_fp16.h>

#include "preprocess.h"

namespace inspectd {

namespace {

// OpenCV 4's 8-bit BGR->GRAY: 15-bit weights (RY15, GY15, BY15), rounded. (The older 14-bit
// weights differ on about 0.3% of random pixels; these matched OpenCV 4.6 on 2^20 of them.)
__device__ __forceinline__ int toGray(int b, int g, int r) { return (b * 3735 + g * 19235 + r * 9798 + (1 << 14)) >> 15; }

// OpenCV's bilinear demosaic of an RGGB sensor (OpenCV calls it BayerBG). The outermost rows and
// columns are copies of their inner neighbours, as in OpenCV.
__device__ __forceinline__ void demosaicRggb(const uint8_t* src, int w, int h, int x, int y, int& b, int& g, int& r) {
  x = min(max(x, 1), w - 2);
  y = min(max(y, 1), h - 2);
  const uint8_t* row = src + static_cast<size_t>(y) * w;
  const uint8_t* up = row - w;
  const uint8_t* down = row + w;
  const int p = row[x];
  const int cross = (up[x] + down[x] + row[x - 1] + row[x + 1] + 2) >> 2;
  const int diag = (up[x - 1] + up[x + 1] + down[x - 1] + down[x + 1] + 2) >> 2;
  const int horiz = (row[x - 1] + row[x + 1] + 1) >> 1;
  const int vert = (up[x] + down[x] + 1) >> 1;
  const bool evenRow = (y & 1) == 0, evenCol = (x & 1) == 0;
  if (evenRow && evenCol) {  // R site
    r = p, g = cross, b = diag;
  } else if (!evenRow && !evenCol) {  // B site
    b = p, g = cross, r = diag;
  } else if (evenRow) {  // G on a red row
    g = p, r = horiz, b = vert;
  } else {  // G on a blue row
    g = p, b = horiz, r = vert;
  }
}

__device__ __forceinline__ void toOrder(const PreprocessParams& p, int b, int g, int r, int v[3]);

// One source pixel after colour conversion, in the tensor's channel order.
__device__ __forceinline__ void fetch(const PreprocessParams& p, const uint8_t* src, int x, int y, int v[3]) {
  int b, g, r;
  switch (p.format) {
    case PixelFormat::Mono8: {
      const int m = src[static_cast<size_t>(y) * p.srcWidth + x];
      v[0] = v[1] = v[2] = m;
      return;  // mono -> GRAY/RGB/BGR is a copy of the one value
    }
    case PixelFormat::Bgr8: {
      const uint8_t* px = src + (static_cast<size_t>(y) * p.srcWidth + x) * 3;
      b = px[0], g = px[1], r = px[2];
      break;
    }
    default:
      demosaicRggb(src, p.srcWidth, p.srcHeight, x, y, b, g, r);
      break;
  }
  toOrder(p, b, g, r, v);
}

// The same demosaic from a 4x4 window held in registers (window origin = one pixel up-left of the
// quad's first pixel), so a 2x2 quad of taps costs 16 loads instead of 36.
__device__ __forceinline__ void demosaicWindow(const int win[4][4], int cy, int cx, bool evenRow, bool evenCol, int& b, int& g, int& r) {
  const int p = win[cy][cx];
  const int cross = (win[cy - 1][cx] + win[cy + 1][cx] + win[cy][cx - 1] + win[cy][cx + 1] + 2) >> 2;
  const int diag = (win[cy - 1][cx - 1] + win[cy - 1][cx + 1] + win[cy + 1][cx - 1] + win[cy + 1][cx + 1] + 2) >> 2;
  const int horiz = (win[cy][cx - 1] + win[cy][cx + 1] + 1) >> 1;
  const int vert = (win[cy - 1][cx] + win[cy + 1][cx] + 1) >> 1;
  if (evenRow && evenCol) {
    r = p, g = cross, b = diag;
  } else if (!evenRow && !evenCol) {
    b = p, g = cross, r = diag;
  } else if (evenRow) {
    g = p, r = horiz, b = vert;
  } else {
    g = p, b = horiz, r = vert;
  }
}

__device__ __forceinline__ void toOrder(const PreprocessParams& p, int b, int g, int r, int v[3]) {
  if (p.color == ColorOrder::Gray) {
    v[0] = toGray(b, g, r);
  } else if (p.color == ColorOrder::Rgb) {
    v[0] = r, v[1] = g, v[2] = b;
  } else {
    v[0] = b, v[1] = g, v[2] = r;
  }
}

// A 4x4 Bayer window (rows y0..y0+3, columns x0..x0+3) in registers. WORDS: each row's 4 bytes
// from the two aligned 32-bit words that hold them (2 loads and a byte permute instead of 4 byte
// loads); needs rows that start 4-byte aligned (srcWidth % 4 == 0, checked by the caller) and may
// read up to 4 bytes past x0 + 3, which the callers keep inside the frame (never on its last row).
template <bool WORDS>
__device__ __forceinline__ void loadWindow(const uint8_t* __restrict__ src, int w, int x0, int y0, int win[4][4]) {
  if (WORDS) {
    const int aligned = x0 & ~3;
    const unsigned sel = 0x3210u + 0x1111u * static_cast<unsigned>(x0 & 3);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const uint32_t* row = reinterpret_cast<const uint32_t*>(src + (y0 + j) * w + aligned);
      const uint32_t v = __byte_perm(__ldg(row), __ldg(row + 1), sel);
#pragma unroll
      for (int i = 0; i < 4; ++i) win[j][i] = (v >> (8 * i)) & 0xff;
    }
  } else {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const uint8_t* row = src + static_cast<size_t>(y0 + j) * w + x0;
#pragma unroll
      for (int i = 0; i < 4; ++i) win[j][i] = row[i];
    }
  }
}

// Taps (x, y), (x+1, y), (x, y+1), (x+1, y+1): the quad bilinear and 2x area resizes read.
template <bool WORDS = false>
__device__ __forceinline__ void fetchQuad(const PreprocessParams& p, const uint8_t* src, int x, int y, int t[4][3]) {
  const int w = p.srcWidth, h = p.srcHeight;
  if (p.format == PixelFormat::BayerRg8 && x >= 1 && y >= 1 && x + 2 <= w - 2 && y + 2 <= h - 2) {
    int win[4][4];
    if (WORDS && (w & 3) == 0) {
      loadWindow<true>(src, w, x - 1, y - 1, win);
    } else {
      loadWindow<false>(src, w, x - 1, y - 1, win);
    }
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int dx = q & 1, dy = q >> 1;
      int b, g, r;
      demosaicWindow(win, 1 + dy, 1 + dx, ((y + dy) & 1) == 0, ((x + dx) & 1) == 0, b, g, r);
      toOrder(p, b, g, r, t[q]);
    }
    return;
  }
  if (WORDS && p.format == PixelFormat::Bgr8 && (w & 3) == 0) {
    // Two neighbouring BGR pixels are 6 bytes of a row: three aligned words and two byte permutes.
    // The frame buffer has slack after its last byte (FRAME_SLACK), so the third word never leaves it.
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const int at = ((y + j) * w + x) * 3;
      const uint32_t* row = reinterpret_cast<const uint32_t*>(src + (at & ~3));
      const uint32_t w0 = __ldg(row), w1 = __ldg(row + 1), w2 = __ldg(row + 2);
      const unsigned sel = 0x3210u + 0x1111u * static_cast<unsigned>(at & 3);
      const uint32_t lo = __byte_perm(w0, w1, sel), hi = __byte_perm(w1, w2, sel);  // bytes 0-3, 4-7 of the pair
      toOrder(p, lo & 0xff, (lo >> 8) & 0xff, (lo >> 16) & 0xff, t[2 * j]);
      toOrder(p, lo >> 24, hi & 0xff, (hi >> 8) & 0xff, t[2 * j + 1]);
    }
    return;
  }
  fetch(p, src, x, y, t[0]);
  fetch(p, src, x + 1, y, t[1]);
  fetch(p, src, x, y + 1, t[2]);
  fetch(p, src, x + 1, y + 1, t[3]);
}

// OpenCV INTER_LINEAR on 8-bit images: source position, clamped taps, 11-bit weights.
struct LinearAxis {
  int s0, s1, w0, w1;
};

__device__ __forceinline__ LinearAxis linearAxisX(int d, double scale, int size) {
  float f = static_cast<float>((d + 0.5) * scale - 0.5);
  int s = static_cast<int>(floorf(f));
  f -= s;
  if (s < 0) f = 0, s = 0;
  if (s >= size - 1) f = 0, s = size - 1;
  return {s, min(s + 1, size - 1), __float2int_rn((1.f - f) * 2048.f), __float2int_rn(f * 2048.f)};
}

// Rows: OpenCV keeps the weight and clamps the row index instead.
__device__ __forceinline__ LinearAxis linearAxisY(int d, double scale, int size) {
  float f = static_cast<float>((d + 0.5) * scale - 0.5);
  const int s = static_cast<int>(floorf(f));
  f -= s;
  return {min(max(s, 0), size - 1), min(max(s + 1, 0), size - 1), __float2int_rn((1.f - f) * 2048.f), __float2int_rn(f * 2048.f)};
}

template <int C, bool WORDS>
__device__ void resizeLinear(const PreprocessParams& p, const uint8_t* src, int dx, int dy, int out[3]) {
  const LinearAxis ax = linearAxisX(dx, p.scaleX, p.srcWidth);
  const LinearAxis ay = linearAxisY(dy, p.scaleY, p.srcHeight);
  int t[4][3];
  if (ax.s1 == ax.s0 + 1 && ay.s1 == ay.s0 + 1) {
    fetchQuad<WORDS>(p, src, ax.s0, ay.s0, t);
  } else {  // at a clamped border
    fetch(p, src, ax.s0, ay.s0, t[0]);
    fetch(p, src, ax.s1, ay.s0, t[1]);
    fetch(p, src, ax.s0, ay.s1, t[2]);
    fetch(p, src, ax.s1, ay.s1, t[3]);
  }
#pragma unroll
  for (int c = 0; c < C; ++c) {
    const int h0 = t[0][c] * ax.w0 + t[1][c] * ax.w1;
    const int h1 = t[2][c] * ax.w0 + t[3][c] * ax.w1;
    // The vertical pass as OpenCV's SIMD code does it (VResizeLinearVec_32s8u), which is what an
    // x86 or NEON build runs for all but a row's last few values.
    const int t = ((ay.w0 * (h0 >> 4)) >> 16) + ((ay.w1 * (h1 >> 4)) >> 16);
    out[c] = min(max((t + 2) >> 2, 0), 255);
  }
}

// OpenCV INTER_AREA's weights on one axis (computeResizeAreaTab), visited one at a time.
template <typename Visit>
__device__ __forceinline__ void areaAxis(int d, double scale, int size, Visit visit) {
  const double f1 = d * scale, f2 = f1 + scale;
  const double cell = fmin(scale, size - f1);
  int s1 = static_cast<int>(ceil(f1)), s2 = static_cast<int>(floor(f2));
  s2 = min(s2, size - 1);
  s1 = min(s1, s2);
  if (s1 - f1 > 1e-3) visit(s1 - 1, static_cast<float>((s1 - f1) / cell));
  for (int s = s1; s < s2; ++s) visit(s, static_cast<float>(1.0 / cell));
  if (f2 - s2 > 1e-3) visit(s2, static_cast<float>(fmin(fmin(f2 - s2, 1.), cell) / cell));
}

template <int C, bool WORDS>
__device__ void resizeArea(const PreprocessParams& p, const uint8_t* src, int dx, int dy, int out[3]) {
  if (p.areaFastScale > 0) {
    // Integer ratio: OpenCV's resizeAreaFast, a plain block mean.
    const int k = p.areaFastScale;
    int sum[3] = {0, 0, 0}, v[3];
    if (k == 2) {
      int t[4][3];
      fetchQuad<WORDS>(p, src, 2 * dx, 2 * dy, t);
#pragma unroll
      for (int c = 0; c < C; ++c) out[c] = (t[0][c] + t[1][c] + t[2][c] + t[3][c] + 2) >> 2;
      return;
    }
    for (int y = dy * k; y < dy * k + k; ++y)
      for (int x = dx * k; x < dx * k + k; ++x) {
        fetch(p, src, x, y, v);
        for (int c = 0; c < C; ++c) sum[c] += v[c];
      }
    for (int c = 0; c < C; ++c) {
      // 2x2 is OpenCV's SIMD path ((sum + 2) >> 2); other sizes multiply by 1/area and round to even.
      out[c] = k == 2 ? (sum[c] + 2) >> 2 : min(__float2int_rn(__fmul_rn(static_cast<float>(sum[c]), 1.f / (k * k))), 255);
    }
    return;
  }
  float acc[3] = {0, 0, 0};
  areaAxis(dy, p.scaleY, p.srcHeight, [&](int sy, float beta) {
    float row[3] = {0, 0, 0};
    areaAxis(dx, p.scaleX, p.srcWidth, [&](int sx, float alpha) {
      int v[3];
      fetch(p, src, sx, sy, v);
      for (int c = 0; c < C; ++c) row[c] = __fadd_rn(row[c], __fmul_rn(static_cast<float>(v[c]), alpha));
    });
    for (int c = 0; c < C; ++c) acc[c] = __fadd_rn(acc[c], __fmul_rn(row[c], beta));
  });
  for (int c = 0; c < C; ++c) out[c] = min(max(__float2int_rn(acc[c]), 0), 255);
}

// LINEAR: the caller knows the resize is not INTER_AREA, so that code (and its registers) is left out.
template <int C, bool WORDS, bool LINEAR = false>
__device__ __forceinline__ void pixelValue(const PreprocessParams& p, const uint8_t* src, int x, int y, int v[3]) {
  const int ix = x - p.padLeft, iy = y - p.padTop;
  if (ix < 0 || iy < 0 || ix >= p.innerWidth || iy >= p.innerHeight) {
    v[0] = v[1] = v[2] = p.padValue;
  } else if (p.resize == ResizeKind::Identity) {
    fetch(p, src, ix, iy, v);
  } else if (LINEAR || p.resize == ResizeKind::Linear) {
    resizeLinear<C, WORDS>(p, src, ix, iy, v);
  } else {
    resizeArea<C, WORDS>(p, src, ix, iy, v);
  }
}

// OpenCV's convertTo(CV_32F, alpha, beta): x*alpha + beta in float, multiply and add rounded apart.
__device__ __forceinline__ float normalise(const PreprocessParams& p, int v, int c) {
  return __fadd_rn(__fmul_rn(static_cast<float>(v), p.alpha[c]), p.beta[c]);
}

// One tensor pixel's channels, normalised, written as float32 or float16, planar or interleaved.
template <int C>
__device__ __forceinline__ void storePixel(const PreprocessParams& p, void* __restrict__ dst, int x, int y, const int v[3]) {
  const int plane = p.dstWidth * p.dstHeight;
  const int pixel = y * p.dstWidth + x;
#pragma unroll
  for (int c = 0; c < C; ++c) {
    const float value = normalise(p, v[c], c);
    const int at = p.nchw ? c * plane + pixel : pixel * C + c;
    if (p.half) {
      static_cast<__half*>(dst)[at] = __float2half_rn(value);
    } else {
      static_cast<float*>(dst)[at] = value;
    }
  }
}

// The general kernel: any format, resize and layout. Each thread makes PX neighbouring pixels of a
// row; the launcher uses PX = 1 (four pixels a thread, with 16-byte planar stores, measured slower
// on the H200: the outputs are too small to fill the GPU with a quarter of the threads). C (1 or 3
// channels) is a template argument so every per-channel loop unrolls into registers.
template <int C, int PX, bool WORDS, bool LINEAR>
__global__ void preprocessKernel(const PreprocessParams p, const uint8_t* __restrict__ src, void* __restrict__ dst) {
  const int x0 = (blockIdx.x * blockDim.x + threadIdx.x) * PX;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x0 >= p.dstWidth || y >= p.dstHeight) return;
  int v[PX][3];
#pragma unroll
  for (int k = 0; k < PX; ++k)
    if (x0 + k < p.dstWidth) pixelValue<C, WORDS, LINEAR>(p, src, x0 + k, y, v[k]);
  if (PX == 4 && p.nchw && !p.half && p.dstWidth % PX == 0) {
    const size_t plane = static_cast<size_t>(p.dstWidth) * p.dstHeight;
    const size_t pixel = static_cast<size_t>(y) * p.dstWidth + x0;
#pragma unroll
    for (int c = 0; c < C; ++c) {
      const float4 q = make_float4(normalise(p, v[0][c], c), normalise(p, v[1 % PX][c], c), normalise(p, v[2 % PX][c], c), normalise(p, v[3 % PX][c], c));
      *reinterpret_cast<float4*>(static_cast<float*>(dst) + c * plane + pixel) = q;
    }
    return;
  }
  if (PX == 2 && p.nchw && !p.half && p.dstWidth % PX == 0) {
    const int plane = p.dstWidth * p.dstHeight;
    const int pixel = y * p.dstWidth + x0;
#pragma unroll
    for (int c = 0; c < C; ++c) {
      *reinterpret_cast<float2*>(static_cast<float*>(dst) + c * plane + pixel) = make_float2(normalise(p, v[0][c], c), normalise(p, v[1 % PX][c], c));
    }
    return;
  }
#pragma unroll
  for (int k = 0; k < PX; ++k) {
    if (x0 + k >= p.dstWidth) break;
    storePixel<C>(p, dst, x0 + k, y, v[k]);
  }
}

// Bayer RG8 binned 2x2 (INTER_AREA at exactly half size, OpenCV's block mean): the case where every
// source pixel is read. One thread per tensor pixel, its 4x4 window in 8 aligned word loads, and
// the demosaic of its RGGB quad written out for the quad's fixed sites (R top-left, B bottom-right)
// instead of per tap with run-time parity: a third of the general kernel's integer work. Same
// arithmetic, so the same result; the frame's outer ring takes the general path (OpenCV's border).
template <int C>
__global__ void __launch_bounds__(256) bayerBin2Kernel(const PreprocessParams p, const uint8_t* __restrict__ src, void* __restrict__ dst) {
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

template <int C, int PX, bool WORDS, bool LINEAR = false>
void launchGeneral(const PreprocessParams& p, const uint8_t* src, void* dst, cudaStream_t stream) {
  const dim3 block(32, 8);
  const int perBlockX = block.x * PX;
  const dim3 grid((p.dstWidth + perBlockX - 1) / perBlockX, (p.dstHeight + block.y - 1) / block.y);
  preprocessKernel<C, PX, WORDS, LINEAR><<<grid, block, 0, stream>>>(p, src, dst);
}

// Which kernel makes the tensor: the fastest version measured on the H200 for each case
// (bench/gpu/RESULTS.md: binned Bayer 20.0 -> 12.9 us, Bayer letterbox 12.7 -> 9.8 us, BGR
// letterbox 8.3 -> 6.7 us against the general kernel with four pixels a thread and byte loads).
template <int C>
void launchFor(const PreprocessParams& p, const uint8_t* src, void* dst, cudaStream_t stream) {
  const bool bin2 = p.format == PixelFormat::BayerRg8 && p.resize == ResizeKind::Area && p.areaFastScale == 2 && (p.srcWidth & 3) == 0 &&
                    p.innerWidth == p.dstWidth && p.innerHeight == p.dstHeight && p.padLeft == 0 && p.padTop == 0;
  if (bin2) {
    const dim3 block(32, 8);
    const dim3 grid((p.dstWidth + block.x - 1) / block.x, (p.dstHeight + block.y - 1) / block.y);
    bayerBin2Kernel<C><<<grid, block, 0, stream>>>(p, src, dst);
  } else if (p.resize == ResizeKind::Linear) {
    launchGeneral<C, 1, true, true>(p, src, dst, stream);
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
