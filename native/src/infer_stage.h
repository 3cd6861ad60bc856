// What runs between preprocessing and the copy back to the host. The TensorRT engine is one such
// stage; the pass-through stage (no network: the tensor itself comes back) is the other, and is
// what proves the whole asynchronous path on a GPU without TensorRT.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace inspectd {

struct TensorInfo {
  std::string name;
  std::vector<int64_t> dims;
  std::string type;  // ONNX element type name: float32, float16, int8, int32, int64, uint8, bool
  size_t bytes = 0;
};

class InferStage {
 public:
  virtual ~InferStage() = default;
  virtual std::string name() const = 0;
  virtual const TensorInfo& input() const = 0;
  virtual const std::vector<TensorInfo>& outputs() const = 0;
  // Where the preprocessing kernel writes slot's input tensor (device memory).
  virtual void* inputDevice(int slot) = 0;
  // Pinned host memory that holds output i of slot once the slot's stream has finished.
  virtual void* outputHost(int slot, int output) = 0;
  // Enqueues the network (if any) and the copy of every output to the host on stream.
  virtual void enqueue(int slot, cudaStream_t stream) = 0;
};

// The tensor itself is the one output: preprocessing checked end to end, no network.
std::unique_ptr<InferStage> makePassThroughStage(const TensorInfo& input, int slots);

// A TensorRT engine, deserialised from enginePath with one execution context per slot. Throws
// INSPECTD_TRT_NOT_FOUND when the library is missing or this build has no TensorRT code, and
// INSPECTD_ENGINE_INCOMPATIBLE when the engine was built for another GPU or TensorRT version.
std::unique_ptr<InferStage> makeTensorRtStage(const std::string& enginePath, int slots, int batch);

}  // namespace inspectd
