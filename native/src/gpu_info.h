// Facts about the GPUs, for the backend selector, the engine cache key and the benchmarks.
#pragma once
#include <napi.h>

namespace inspectd {

void registerGpuInfo(Napi::Env env, Napi::Object exports);

}  // namespace inspectd
