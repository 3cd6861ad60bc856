#include "preprocess_params.h"

#include <cmath>

#include "coded_error.h"

namespace inspectd {

int32_t intField(const Napi::Object& o, const char* key, int32_t fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}

PreprocessParams readParams(const Napi::Object& o) {
  // The TypeScript wrapper validates every field before it gets here (src/infer/tensorrt/plan.ts).
  PreprocessParams p;
  p.srcWidth = intField(o, "srcWidth", 0);
  p.srcHeight = intField(o, "srcHeight", 0);
  p.format = static_cast<PixelFormat>(intField(o, "format", 0));
  p.dstWidth = intField(o, "dstWidth", 0);
  p.dstHeight = intField(o, "dstHeight", 0);
  p.innerWidth = intField(o, "innerWidth", p.dstWidth);
  p.innerHeight = intField(o, "innerHeight", p.dstHeight);
  p.padLeft = intField(o, "padLeft", 0);
  p.padTop = intField(o, "padTop", 0);
  p.resize = static_cast<ResizeKind>(intField(o, "resize", 0));
  p.color = static_cast<ColorOrder>(intField(o, "color", 0));
  p.channels = p.color == ColorOrder::Gray ? 1 : 3;
  p.nchw = o.Get("nchw").ToBoolean().Value();
  p.half = o.Get("half").ToBoolean().Value();
  p.padValue = intField(o, "padValue", 114);
  Napi::Array alpha = o.Get("alpha").As<Napi::Array>(), beta = o.Get("beta").As<Napi::Array>();
  for (uint32_t c = 0; c < 3; ++c) {
    p.alpha[c] = alpha.Get(c < alpha.Length() ? c : 0).As<Napi::Number>().FloatValue();
    p.beta[c] = beta.Get(c < beta.Length() ? c : 0).As<Napi::Number>().FloatValue();
  }
  if (p.srcWidth < 3 || p.srcHeight < 3 || p.dstWidth <= 0 || p.dstHeight <= 0 || p.innerWidth <= 0 || p.innerHeight <= 0)
    throw CodedError("INSPECTD_USAGE", "FramePipeline: frame and tensor sizes must be positive (frames at least 3x3)");
  // OpenCV's own scale: 1 / (dst / src), in double.
  p.scaleX = 1.0 / (static_cast<double>(p.innerWidth) / p.srcWidth);
  p.scaleY = 1.0 / (static_cast<double>(p.innerHeight) / p.srcHeight);
  if (p.resize == ResizeKind::Linear || p.resize == ResizeKind::Area) {
    const int ix = static_cast<int>(p.scaleX + 0.5), iy = static_cast<int>(p.scaleY + 0.5);
    const bool integerRatio = std::abs(p.scaleX - ix) < 2.2e-16 && std::abs(p.scaleY - iy) < 2.2e-16;
    // OpenCV turns an exact 2x INTER_LINEAR shrink into INTER_AREA, and INTER_AREA with integer
    // ratios into its block-mean path.
    if (p.resize == ResizeKind::Linear && integerRatio && ix == 2 && iy == 2) p.resize = ResizeKind::Area;
    if (p.resize == ResizeKind::Area && integerRatio) p.areaFastScale = ix == iy ? ix : 0;
    if (p.resize == ResizeKind::Area && (p.scaleX < 1 || p.scaleY < 1)) p.resize = ResizeKind::Linear;
  }
  return p;
}

}  // namespace inspectd
