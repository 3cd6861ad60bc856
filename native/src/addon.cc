// inspectd's GPU addon. Always builds and loads: the CUDA parts are compiled in only when the
// CUDA toolkit was found at build time, and TensorRT is opened at run time (trt_library.cc).
#include <napi.h>

#include "trt_library.h"

#ifdef INSPECTD_WITH_CUDA
#include <cuda_runtime_api.h>

#include "frame_pipeline.h"
#include "gpu_info.h"
#endif

namespace inspectd {
void registerTensorRt(Napi::Env env, Napi::Object exports);
}

namespace {

using inspectd::LibraryAttempt;

Napi::Array attempts(Napi::Env env, const std::vector<LibraryAttempt>& list) {
  Napi::Array out = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    Napi::Object a = Napi::Object::New(env);
    a.Set("file", list[i].file);
    if (!list[i].error.empty()) a.Set("error", list[i].error);
    out.Set(static_cast<uint32_t>(i), a);
  }
  return out;
}

Napi::Value buildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#ifdef INSPECTD_WITH_CUDA
  o.Set("cuda", true);
  o.Set("cudaRuntimeVersion", CUDART_VERSION);  // compiled against; linked statically
  int driver = 0;
  o.Set("cudaDriverVersion", cudaDriverGetVersion(&driver) == cudaSuccess ? driver : 0);
#else
  o.Set("cuda", false);
#endif
  o.Set("tensorRtHeadersMajor", inspectd::TrtLibrary::instance().probe().headersMajor);
  return o;
}

Napi::Value tensorRt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const inspectd::TrtProbe& p = inspectd::TrtLibrary::instance().probe();
  Napi::Object o = Napi::Object::New(env);
  o.Set("found", p.found);
  if (!p.inferPath.empty()) o.Set("library", p.inferPath);
  if (!p.parserPath.empty()) o.Set("onnxParser", p.parserPath);
  o.Set("libraryVersion", p.libraryVersion);
  o.Set("headersMajor", p.headersMajor);
  o.Set("inferAttempts", attempts(env, p.inferAttempts));
  o.Set("parserAttempts", attempts(env, p.parserAttempts));
  if (!p.reason.empty()) o.Set("reason", p.reason);
  return o;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("buildInfo", Napi::Function::New(env, buildInfo, "buildInfo"));
  exports.Set("tensorRt", Napi::Function::New(env, tensorRt, "tensorRt"));
#ifdef INSPECTD_WITH_CUDA
  inspectd::registerGpuInfo(env, exports);
  inspectd::registerFramePipeline(env, exports);
  inspectd::registerTensorRt(env, exports);
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(inspectd_gpu, init)
