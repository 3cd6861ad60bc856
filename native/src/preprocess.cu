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

// OpenCV's BGR->GRAY weights (yuv_shift = 14) and rounding.
__device__ __forceinline__ int toGray(int b, int g, int r) { return (b * 1868 + g * 9617 + r * 4899 + (1 << 13)) >> 14; }

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
  if (p.color == ColorOrder::Gray) {
    v[0] = toGray(b, g, r);
  } else if (p.color == ColorOrder::Rgb) {
    v[0] = r, v[1] = g, v[2] = b;
  } else {
    v[0] = b, v[1] = g, v[2] = r;
  }
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
  int t00[3], t01[3], t10[3], t11[3];
  fetch(p, src, ax.s0, ay.s0, t00);
  fetch(p, src, ax.s1, ay.s0, t01);
  fetch(p, src, ax.s0, ay.s1, t10);
  fetch(p, src, ax.s1, ay.s1, t11);
  for (int c = 0; c < C; ++c) {
    const int h0 = t00[c] * ax.w0 + t01[c] * ax.w1;
    const int h1 = t10[c] * ax.w0 + t11[c] * ax.w1;
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

// C (1 or 3 channels) is a template argument so every per-channel loop unrolls into registers.
template <int C>
__global__ void preprocessKernel(const PreprocessParams p, const uint8_t* __restrict__ src, void* __restrict__ dst) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= p.dstWidth || y >= p.dstHeight) return;
  int v[3];
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
  const size_t plane = static_cast<size_t>(p.dstWidth) * p.dstHeight;
  const size_t pixel = static_cast<size_t>(y) * p.dstWidth + x;
  for (int c = 0; c < C; ++c) {
    // OpenCV's convertTo(CV_32F, alpha, beta): x*alpha + beta in float, multiply and add rounded apart.
    const float value = __fadd_rn(__fmul_rn(static_cast<float>(v[c]), p.alpha[c]), p.beta[c]);
    const size_t at = p.nchw ? c * plane + pixel : pixel * p.channels + c;
    if (p.half) {
      static_cast<__half*>(dst)[at] = __float2half_rn(value);
    } else {
      static_cast<float*>(dst)[at] = value;
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
  const dim3 grid((p.dstWidth + block.x - 1) / block.x, (p.dstHeight + block.y - 1) / block.y);
  if (p.channels == 1) {
    preprocessKernel<1><<<grid, block, 0, stream>>>(p, srcDevice, dstDevice);
  } else {
    preprocessKernel<3><<<grid, block, 0, stream>>>(p, srcDevice, dstDevice);
  }
  return cudaGetLastError();
}

}  // namespace inspectd
