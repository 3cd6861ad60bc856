// What the TensorRT engine and builder share: the logger, owners for TensorRT objects, and the
// factory functions looked up in the dlopen'ed libraries (the addon has no link-time dependency
// on TensorRT; these are the only entry points it needs, everything else is virtual calls).
#pragma once
#include <NvInfer.h>

#include <memory>
#include <mutex>
#include <string>

#include "coded_error.h"
#include "trt_library.h"

namespace inspectd::trt {

// Keeps TensorRT's last error so it can be put into the JS error; warnings go to stderr only
// when INSPECTD_TENSORRT_VERBOSE is set (the daemon logs its own summary).
class Logger final : public nvinfer1::ILogger {
 public:
  void log(Severity severity, nvinfer1::AsciiChar const* message) noexcept override;
  std::string lastError() const;

 private:
  mutable std::mutex mutex_;
  std::string lastError_;
};

// TensorRT 10 and 11 objects are released with delete (destroy() is gone).
struct Delete {
  template <typename T>
  void operator()(T* p) const noexcept {
    delete p;
  }
};
template <typename T>
using Unique = std::unique_ptr<T, Delete>;

// The library must be the major version these headers describe; throws INSPECTD_TRT_NOT_FOUND otherwise.
const TrtLibrary& requireLibrary();
Unique<nvinfer1::IRuntime> createRuntime(Logger& logger);
Unique<nvinfer1::IBuilder> createBuilder(Logger& logger);

std::string dataTypeName(nvinfer1::DataType type);
size_t dataTypeSize(nvinfer1::DataType type);

}  // namespace inspectd::trt
