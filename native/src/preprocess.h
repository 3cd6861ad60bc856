// The CUDA preprocessing step: one kernel from a camera frame (mono8, BGR8, Bayer RG8) to the
// model's input tensor. The plan (sizes, resize kind, letterbox pads, normalisation) is computed in
// TypeScript by the same arithmetic as src/preprocess/preprocess.ts, so CPU and GPU agree on it.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace inspectd {

enum class PixelFormat : int32_t { Mono8 = 0, Bgr8 = 1, BayerRg8 = 2 };
enum class ColorOrder : int32_t { Gray = 0, Rgb = 1, Bgr = 2 };
// Linear: OpenCV INTER_LINEAR; Area: OpenCV INTER_AREA (shrinking); Identity: same size.
enum class ResizeKind : int32_t { Identity = 0, Linear = 1, Area = 2 };

struct PreprocessParams {
  int32_t srcWidth = 0, srcHeight = 0;
  PixelFormat format = PixelFormat::Mono8;
  int32_t dstWidth = 0, dstHeight = 0;
  // The resized picture inside the tensor: the whole tensor for stretch, the letterbox's inner
  // rectangle otherwise; everything outside it is padValue.
  int32_t innerWidth = 0, innerHeight = 0, padLeft = 0, padTop = 0;
  ResizeKind resize = ResizeKind::Identity;
  // Source pixels per resized pixel, as OpenCV computes them (1 / (inner / src)).
  double scaleX = 1, scaleY = 1;
  // INTER_AREA with an integer ratio on both axes takes OpenCV's block-mean path: the ratio, else 0.
  int32_t areaFastScale = 0;
  ColorOrder color = ColorOrder::Gray;
  int32_t channels = 1;
  bool nchw = true;
  bool half = false;
  float alpha[3] = {1, 1, 1};  // x' = x * alpha[c] + beta[c]  (= (x*scale - mean)/std)
  float beta[3] = {0, 0, 0};
  int32_t padValue = 114;
};

size_t frameBytes(const PreprocessParams& p);
// Bytes a frame's device buffer has past the frame: the kernel reads whole aligned 32-bit words,
// up to 8 bytes beyond the last pixel it needs.
constexpr size_t FRAME_SLACK = 16;
size_t tensorBytes(const PreprocessParams& p);

// Enqueues the kernel on stream; returns the launch status (the caller checks it).
cudaError_t launchPreprocess(const PreprocessParams& p, const uint8_t* srcDevice, void* dstDevice, cudaStream_t stream);

}  // namespace inspectd
