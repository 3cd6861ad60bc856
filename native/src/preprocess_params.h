#pragma once
// What the TypeScript wrapper hands the frame pipeline (src/infer/tensorrt/plan.ts builds and
// validates it) read into PreprocessParams, with the resize choices OpenCV itself would make, so the
// GPU's tensor matches the CPU chain's.

#include <napi.h>

#include <cstdint>

#include "preprocess.h"

namespace inspectd {

// A number field of a JS options object, or fallback when absent or not a number.
int32_t intField(const Napi::Object& o, const char* key, int32_t fallback);

// The preprocessing options of one pipeline; throws CodedError INSPECTD_USAGE on impossible sizes.
PreprocessParams readParams(const Napi::Object& o);

}  // namespace inspectd
