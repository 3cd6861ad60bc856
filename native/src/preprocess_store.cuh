// Writing the tensor: OpenCV's convertTo arithmetic, then float32 or float16, planar (NCHW) or
// interleaved (NHWC). Included by preprocess.cu only.
#pragma once
#include <cuda_fp16.h>

#include <cstdint>

#include "preprocess.h"

namespace inspectd {
namespace {

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

// Four consecutive tensor values at element `at` (a multiple of 4) in one store: 16 bytes of
// float32 or 8 bytes of float16 (rounded as __float2half_rn rounds each).
__device__ __forceinline__ void put4(bool half, void* __restrict__ dst, size_t at, float a, float b, float c, float d) {
  if (half) {
    const __half2 lo = __floats2half2_rn(a, b), hi = __floats2half2_rn(c, d);
    uint2 u;
    u.x = *reinterpret_cast<const uint32_t*>(&lo);
    u.y = *reinterpret_cast<const uint32_t*>(&hi);
    *reinterpret_cast<uint2*>(static_cast<__half*>(dst) + at) = u;
  } else {
    *reinterpret_cast<float4*>(static_cast<float*>(dst) + at) = make_float4(a, b, c, d);
  }
}

// Tensor pixels x..x+3 of row y (x a multiple of 4, dstWidth too, dst 16-byte aligned: the launcher
// checks) in C vector stores: per plane for NCHW, the 4*C interleaved values for NHWC.
template <int C>
__device__ __forceinline__ void store4(const PreprocessParams& p, void* __restrict__ dst, int x, int y, const int v[4][3]) {
  const size_t pixel = static_cast<size_t>(y) * p.dstWidth + x;
  if (p.nchw) {
    const size_t plane = static_cast<size_t>(p.dstWidth) * p.dstHeight;
#pragma unroll
    for (int c = 0; c < C; ++c) {
      put4(p.half, dst, c * plane + pixel, normalise(p, v[0][c], c), normalise(p, v[1][c], c), normalise(p, v[2][c], c), normalise(p, v[3][c], c));
    }
  } else {
    float f[4 * C];
#pragma unroll
    for (int k = 0; k < 4; ++k)
#pragma unroll
      for (int c = 0; c < C; ++c) f[k * C + c] = normalise(p, v[k][c], c);
#pragma unroll
    for (int i = 0; i < C; ++i) put4(p.half, dst, pixel * C + 4 * i, f[4 * i], f[4 * i + 1], f[4 * i + 2], f[4 * i + 3]);
  }
}

}  // namespace
}  // namespace inspectd
