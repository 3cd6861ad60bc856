// OpenCV's per-pixel arithmetic on the GPU: colour conversion (fixed-point BGR->GRAY, bilinear
// Bayer demosaic), INTER_LINEAR and INTER_AREA resizing, each rounded to 8 bits as the CPU path's
// 8-bit Mat is. Included by preprocess.cu only (device code, one translation unit). Matching the
// CPU path's rounding is why colour is converted per tap rather than on floats.
#pragma once
#include <cstdint>

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

}  // namespace
}  // namespace inspectd
