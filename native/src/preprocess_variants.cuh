// Benchmark-only: candidates for the binned Bayer kernel and diagnostics of its traffic (issue 8's
// 50% target; bench/gpu/RESULTS.md, 2026-12-02 gpu5 section), chosen by INSPECTD_PREPROCESS_VARIANT
// (read once; unset or 0: the shipped kernel). Included by preprocess.cu after the shipped kernels;
// to be removed once the run is read.
#pragma once
#include <cstdlib>

namespace inspectd {
namespace {

// Candidate: each lane loads the 8 middle bytes of each window row in one 8-byte load and takes the
// byte either side from its neighbouring lanes (shuffles); the warp's two ends come from one 2-lane
// load. 8 loads a thread instead of 12, every byte of a row fetched by one lane. blockDim.x == 32.
// Registers capped for 5 blocks an SM, as the shipped kernel has (58 uncapped: 4).
template <int C, bool CS>
__global__ void __launch_bounds__(256, INSPECTD_FULL_SM_BLOCKS < 5 ? INSPECTD_FULL_SM_BLOCKS : 5) bayerBin2ShflKernel(const PreprocessParams p, const uint8_t* __restrict__ src, void* __restrict__ dst) {
  const int lane = threadIdx.x;
  const int ox = 4 * (blockIdx.x * 32 + lane);
  const int oy = blockIdx.y * blockDim.y + threadIdx.y;
  if (oy >= p.dstHeight) return;  // whole warps: the shuffles below need every lane
  const bool live = ox < p.dstWidth;
  const int x = 2 * ox, y = 2 * oy, w = p.srcWidth, h = p.srcHeight;
  const bool rows = y >= 1 && y + 2 <= h - 2;  // the same for the whole warp
  const bool inner = rows && live && x >= 4 && x + 8 <= w - 2;
  int out[4][3];
  if (rows) {
    int q[4][10];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const uint32_t* row = reinterpret_cast<const uint32_t*>(src + static_cast<size_t>(y - 1 + j) * w + (live ? x : 0));
      const uint2 mid = live ? __ldg(reinterpret_cast<const uint2*>(row)) : make_uint2(0, 0);
      uint32_t end = 0;
      if ((lane == 0 && x >= 4) || (lane == 31 && live)) end = __ldg(lane == 0 ? row - 1 : row + 2);
      const uint32_t left = __shfl_up_sync(0xffffffffu, mid.y, 1), right = __shfl_down_sync(0xffffffffu, mid.x, 1);
      unpackRow(lane == 0 ? end : left, mid, lane == 31 ? end : right, q[j]);
    }
    if (inner) {
#pragma unroll
      for (int k = 0; k < 4; ++k) binQuad<C>(p, [&](int a, int b) { return q[a][2 * k + b]; }, out[k]);
    }
  }
  if (!live) return;
  if (!inner) binBorder<C>(p, src, x, y, out);
  store4<C, CS>(p, dst, ox, oy, out);
}

// Candidate: the block's 16R + 2 source rows (the windows of its 8R tensor rows, R a thread, one
// after the other) staged once in shared memory by 16-byte loads, each byte fetched by one thread;
// the windows then read from there. R = 2: 640 blocks, one wave at 5 an SM (registers capped for
// that: 64 uncapped, 80 bytes spilled capped). Needs srcWidth % 16 == 0, src 16-byte aligned, block 32x8.
constexpr int TILE_ROW = 288;  // bytes a staged row: left word at 12, the block's 256 bytes at 16, right word at 272
template <int C, bool CS, int R>
__global__ void __launch_bounds__(256, R == 1 ? 1 : INSPECTD_FULL_SM_BLOCKS < 5 ? INSPECTD_FULL_SM_BLOCKS : 5) bayerBin2TileKernel(const PreprocessParams p, const uint8_t* __restrict__ src, void* __restrict__ dst) {
  constexpr int ROWS = 16 * R + 2;
  __shared__ __align__(16) uint8_t tile[ROWS][TILE_ROW];
  const int w = p.srcWidth, h = p.srcHeight;
  const int x0 = 256 * blockIdx.x, y0 = 16 * R * blockIdx.y - 1;  // the tile's first source column and row
  const int t = threadIdx.y * 32 + threadIdx.x;
#pragma unroll
  for (int i = t; i < ROWS * 16; i += 256) {
    const int r = i >> 4, sx = x0 + 16 * (i & 15), sy = y0 + r;
    if (sy >= 0 && sy < h && sx < w) {
      *reinterpret_cast<uint4*>(&tile[r][16 + sx - x0]) = __ldg(reinterpret_cast<const uint4*>(src + static_cast<size_t>(sy) * w + sx));
    }
  }
  if (t < 2 * ROWS) {
    const int r = t >> 1, sy = y0 + r, sx = (t & 1) ? x0 + 256 : x0 - 4;
    if (sy >= 0 && sy < h && sx >= 0 && sx < w) {
      *reinterpret_cast<uint32_t*>(&tile[r][(t & 1) ? 272 : 12]) = __ldg(reinterpret_cast<const uint32_t*>(src + static_cast<size_t>(sy) * w + sx));
    }
  }
  __syncthreads();
  const int ox = 4 * (blockIdx.x * 32 + threadIdx.x), x = 2 * ox;
  if (ox >= p.dstWidth) return;
#pragma unroll 1
  for (int r = 0; r < R; ++r) {
    const int ly = threadIdx.y + 8 * r, oy = blockIdx.y * 8 * R + ly, y = 2 * oy;
    if (oy >= p.dstHeight) return;
    int out[4][3];
    if (x >= 4 && y >= 1 && x + 8 <= w - 2 && y + 2 <= h - 2) {
      int q[4][10];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const uint8_t* row = &tile[2 * ly + j][16 + 8 * threadIdx.x];
        unpackRow(*reinterpret_cast<const uint32_t*>(row - 4), *reinterpret_cast<const uint2*>(row), *reinterpret_cast<const uint32_t*>(row + 8), q[j]);
      }
#pragma unroll
      for (int k = 0; k < 4; ++k) binQuad<C>(p, [&](int a, int b) { return q[a][2 * k + b]; }, out[k]);
    } else {
      binBorder<C>(p, src, x, y, out);
    }
    store4<C, CS>(p, dst, ox, oy, out);
  }
}

// Diagnostic, wrong values by design: this case's bytes in the ideal pattern. Thread i makes one
// 16-byte load of the frame (LOAD) and one 16-byte store into each plane at i (STORE), all
// coalesced; grid-stride when the grid is smaller than the work. Without STORE a never-true test
// keeps the loads.
template <bool LOAD, bool STORE, bool CS>
__global__ void __launch_bounds__(512) trafficKernel(const uint4* __restrict__ src, uint4* __restrict__ dst, int nLoad, int nPlane, int planes) {
  const int n = max(nLoad, nPlane);
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    uint4 v = make_uint4(i, i, i, i);
    if (LOAD && i < nLoad) v = __ldg(src + i);
    if (STORE && i < nPlane) {
      for (int c = 0; c < planes; ++c) {
        if (CS) __stcs(dst + static_cast<size_t>(c) * nPlane + i, v); else dst[static_cast<size_t>(c) * nPlane + i] = v;
      }
    } else if (!STORE && v.x == 0x9e3779b9u && v.y == v.x && v.z == v.x && v.w == ~v.x) {
      dst[i] = v;
    }
  }
}

int benchVariant() {
  static const int v = [] { const char* e = std::getenv("INSPECTD_PREPROCESS_VARIANT"); return e ? std::atoi(e) : 0; }();
  return v;
}

int multiprocessors() {
  static const int n = [] { int d = 0, m = 0; cudaGetDevice(&d); cudaDeviceGetAttribute(&m, cudaDevAttrMultiProcessorCount, d); return m; }();
  return n;
}

// The binned case under INSPECTD_PREPROCESS_VARIANT: false for 0 (the shipped kernel) and unknown values.
template <int C>
bool launchBin2Variant(const PreprocessParams& p, const uint8_t* src, void* dst, cudaStream_t stream) {
  const int v = benchVariant();
  const dim3 block(32, 8), grid((p.dstWidth / 4 + 31) / 32, (p.dstHeight + 7) / 8), grid2(grid.x, (p.dstHeight + 15) / 16);
  const int nLoad = static_cast<int>(frameBytes(p) / 16), nPlane = static_cast<int>(tensorBytes(p) / 16 / C);
  auto traffic = [&](auto kernel, int threads, int blocks) {
    if (blocks == 0) blocks = (max(nLoad, nPlane) + threads - 1) / threads;
    kernel<<<blocks, threads, 0, stream>>>(reinterpret_cast<const uint4*>(src), static_cast<uint4*>(dst), nLoad, nPlane, C);
  };
  const bool tileFits = p.srcWidth % 16 == 0 && aligned(src, 16);
  switch (v) {
    case 1: bayerBin2MixedKernel<C, true><<<grid, block, 0, stream>>>(p, src, dst); return true;
    case 100: bayerBin2MixedKernel<C, false><<<grid, block, 0, stream>>>(p, src, dst); return true;
    case 2: bayerBin2ShflKernel<C, false><<<grid, block, 0, stream>>>(p, src, dst); return true;
    case 3: bayerBin2ShflKernel<C, true><<<grid, block, 0, stream>>>(p, src, dst); return true;
    case 4: if (!tileFits) return false; bayerBin2TileKernel<C, false, 1><<<grid, block, 0, stream>>>(p, src, dst); return true;
    case 5: if (!tileFits) return false; bayerBin2TileKernel<C, true, 1><<<grid, block, 0, stream>>>(p, src, dst); return true;
    case 6: if (!tileFits) return false; bayerBin2TileKernel<C, false, 2><<<grid2, block, 0, stream>>>(p, src, dst); return true;
    case 7: if (!tileFits) return false; bayerBin2TileKernel<C, true, 2><<<grid2, block, 0, stream>>>(p, src, dst); return true;
    case 10: traffic(trafficKernel<true, true, false>, 256, 0); return true;
    case 11: traffic(trafficKernel<true, true, false>, 128, 0); return true;
    case 12: traffic(trafficKernel<true, true, false>, 512, 0); return true;
    case 13: traffic(trafficKernel<true, true, false>, 256, 8 * multiprocessors()); return true;
    case 14: traffic(trafficKernel<true, true, false>, 256, 4 * multiprocessors()); return true;
    case 15: traffic(trafficKernel<true, true, true>, 256, 0); return true;
    case 16: traffic(trafficKernel<true, true, true>, 256, 8 * multiprocessors()); return true;
    case 20: traffic(trafficKernel<false, true, false>, 256, 0); return true;
    case 21: traffic(trafficKernel<false, true, true>, 256, 0); return true;
    case 22: cudaMemsetAsync(dst, 0, tensorBytes(p), stream); return true;
    case 23: traffic(trafficKernel<true, false, false>, 256, 0); return true;
    default: return false;
  }
}

}  // namespace
}  // namespace inspectd
