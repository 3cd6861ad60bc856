#include "trt_library.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <mutex>
#include <sstream>

#ifdef INSPECTD_WITH_TENSORRT
#include <NvInferVersion.h>
#endif

namespace inspectd {

namespace {

// Library names to try, newest first. INSPECTD_TENSORRT_LIB (a file name or a path) replaces the
// list, e.g. to point at a tarball install outside the loader's path.
std::vector<std::string> candidates(const char* env, const char* stem) {
  if (const char* forced = std::getenv(env); forced && *forced) return {forced};
#ifdef INSPECTD_WITH_TENSORRT
  // A build against TensorRT N's headers can only drive libnvinfer.so.N: the C++ ABI changes
  // between majors, so the other major is not even tried.
  return {std::string(stem) + ".so." + std::to_string(NV_TENSORRT_MAJOR)};
#else
  return {std::string(stem) + ".so.11", std::string(stem) + ".so.10"};
#endif
}

void* openFirst(const std::vector<std::string>& names, std::vector<LibraryAttempt>& attempts, std::string& path) {
  for (const auto& name : names) {
    void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* err = dlerror();
      attempts.push_back({name, err ? err : "unknown dlopen error"});
      continue;
    }
    attempts.push_back({name, ""});
    link_map* map = nullptr;
    path = (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name) ? map->l_name : name;
    return handle;
  }
  return nullptr;
}

}  // namespace

TrtLibrary& TrtLibrary::instance() {
  // Opened once per process (dlopen handles are process-wide); worker threads share it.
  static TrtLibrary library;
  return library;
}

TrtLibrary::TrtLibrary() {
#ifdef INSPECTD_WITH_TENSORRT
  probe_.headersMajor = NV_TENSORRT_MAJOR;
#endif
  infer_ = openFirst(candidates("INSPECTD_TENSORRT_LIB", "libnvinfer"), probe_.inferAttempts, probe_.inferPath);
  if (!infer_) {
    probe_.reason = "libnvinfer could not be opened";
    return;
  }
  using VersionFn = int32_t (*)();
  if (auto version = reinterpret_cast<VersionFn>(dlsym(infer_, "getInferLibVersion"))) probe_.libraryVersion = version();
  parser_ = openFirst(candidates("INSPECTD_TENSORRT_ONNX_PARSER_LIB", "libnvonnxparser"), probe_.parserAttempts, probe_.parserPath);
  if (probe_.headersMajor == 0) {
    probe_.reason = "this addon was built without TensorRT headers, so it has no TensorRT code";
    return;
  }
  if (probe_.libraryVersion / 10000 != probe_.headersMajor) {
    std::ostringstream s;
    s << probe_.inferPath << " is TensorRT " << probe_.libraryVersion << ", this addon was built against TensorRT "
      << probe_.headersMajor << " headers";
    probe_.reason = s.str();
    return;
  }
  if (!dlsym(infer_, "createInferRuntime_INTERNAL")) {
    probe_.reason = probe_.inferPath + " has no createInferRuntime_INTERNAL";
    return;
  }
  probe_.found = true;
}

void* TrtLibrary::inferSymbol(const char* name) const { return infer_ ? dlsym(infer_, name) : nullptr; }
void* TrtLibrary::parserSymbol(const char* name) const { return parser_ ? dlsym(parser_, name) : nullptr; }

}  // namespace inspectd
