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

// Taps (x, y), (x+1, y), (x, y+1), (x+1, y+1): the quad bilinear and 2x area resizes read.
__device__ __forceinline__ void fetchQuad(const PreprocessParams& p, const uint8_t* src, int x, int y, int t[4][3]) {
  const int w = p.srcWidth, h = p.srcHeight;
  if (p.format == PixelFormat::BayerRg8 && x >= 1 && y >= 1 && x + 2 <= w - 2 && y + 2 <= h - 2) {
    int win[4][4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const uint8_t* row = src + static_cast<size_t>(y - 1 + j) * w + (x - 1);
#pragma unroll
      for (int i = 0; i < 4; ++i) win[j][i] = row[i];
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

template <int C>
__device__ void resizeLinear(const PreprocessParams& p, const uint8_t* src, int dx, int dy, int out[3]) {
  const LinearAxis ax = linearAxisX(dx, p.scaleX, p.srcWidth);
  const LinearAxis ay = linearAxisY(dy, p.scaleY, p.srcHeight);
  int t[4][3];
  if (ax.s1 == ax.s0 + 1 && ay.s1 == ay.s0 + 1) {
    fetchQuad(p, src, ax.s0, ay.s0, t);
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

template <int C>
__device__ void resizeArea(const PreprocessParams& p, const uint8_t* src, int dx, int dy, int out[3]) {
  if (p.areaFastScale > 0) {
    // Integer ratio: OpenCV's resizeAreaFast, a plain block mean.
    const int k = p.areaFastScale;
    int sum[3] = {0, 0, 0}, v[3];
    if (k == 2) {
      int t[4][3];
      fetchQuad(p, src, 2 * dx, 2 * dy, t);
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

template <int C>
__device__ __forceinline__ void pixelValue(const PreprocessParams& p, const uint8_t* src, int x, int y, int v[3]) {
  const int ix = x - p.padLeft, iy = y - p.padTop;
  if (ix < 0 || iy < 0 || ix >= p.innerWidth || iy >= p.innerHeight) {
    v[0] = v[1] = v[2] = p.padValue;
  } else if (p.resize == ResizeKind::Identity) {
    fetch(p, src, ix, iy, v);
  } else if (p.resize == ResizeKind::Linear) {
    resizeLinear<C>(p, src, ix, iy, v);
  } else {
    resizeArea<C>(p, src, ix, iy, v);
  }
}

// OpenCV's convertTo(CV_32F, alpha, beta): x*alpha + beta in float, multiply and add rounded apart.
__device__ __forceinline__ float normalise(const PreprocessParams& p, int v, int c) {
  return __fadd_rn(__fmul_rn(static_cast<float>(v), p.alpha[c]), p.beta[c]);
}

// Each thread makes PIXELS neighbouring pixels of a row: the per-thread set-up is shared, the
// compiler reuses loads that neighbouring taps have in common, and planar float32 rows are
// written 16 bytes at a time. C (1 or 3 channels) is a template argument so every per-channel
// loop unrolls into registers.
constexpr int PIXELS = 4;

template <int C>
__global__ void preprocessKernel(const PreprocessParams p, const uint8_t* __restrict__ src, void* __restrict__ dst) {
  const int x0 = (blockIdx.x * blockDim.x + threadIdx.x) * PIXELS;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x0 >= p.dstWidth || y >= p.dstHeight) return;
  int v[PIXELS][3];
#pragma unroll
  for (int k = 0; k < PIXELS; ++k)
    if (x0 + k < p.dstWidth) pixelValue<C>(p, src, x0 + k, y, v[k]);
  const size_t plane = static_cast<size_t>(p.dstWidth) * p.dstHeight;
  const size_t pixel = static_cast<size_t>(y) * p.dstWidth + x0;
  if (p.nchw && !p.half && p.dstWidth % PIXELS == 0) {
#pragma unroll
    for (int c = 0; c < C; ++c) {
      const float4 q = make_float4(normalise(p, v[0][c], c), normalise(p, v[1][c], c), normalise(p, v[2][c], c), normalise(p, v[3][c], c));
      *reinterpret_cast<float4*>(static_cast<float*>(dst) + c * plane + pixel) = q;
    }
    return;
  }
#pragma unroll
  for (int k = 0; k < PIXELS; ++k) {
    if (x0 + k >= p.dstWidth) break;
#pragma unroll
    for (int c = 0; c < C; ++c) {
      const float value = normalise(p, v[k][c], c);
      const size_t at = p.nchw ? c * plane + pixel + k : (pixel + k) * C + c;
      if (p.half) {
        static_cast<__half*>(dst)[at] = __float2half_rn(value);
      } else {
        static_cast<float*>(dst)[at] = value;
      }
    }
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
  const dim3 block(32, 8);
  const int perBlockX = block.x * PIXELS;
  const dim3 grid((p.dstWidth + perBlockX - 1) / perBlockX, (p.dstHeight + block.y - 1) / block.y);
  if (p.channels == 1) {
    preprocessKernel<1><<<grid, block, 0, stream>>>(p, srcDevice, dstDevice);
  } else {
    preprocessKernel<3><<<grid, block, 0, stream>>>(p, srcDevice, dstDevice);
  }
  return cudaGetLastError();
}

}  // namespace inspectd
