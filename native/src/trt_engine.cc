// The TensorRT stage: a deserialised engine with one execution context per pipeline slot, named
// I/O tensors bound once with setTensorAddress, and enqueueV3 on the slot's stream.
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include "cuda_raii.h"
#include "infer_stage.h"
#include "trt_common.h"

namespace inspectd::trt {

void Logger::log(Severity severity, nvinfer1::AsciiChar const* message) noexcept {
  if (severity <= Severity::kERROR) {
    std::lock_guard<std::mutex> lock(mutex_);
    lastError_ = message ? message : "";
  }
  if (severity <= Severity::kWARNING && std::getenv("INSPECTD_TENSORRT_VERBOSE")) std::cerr << "tensorrt: " << message << "\n";
}

std::string Logger::lastError() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lastError_.empty() ? "no message from TensorRT" : lastError_;
}

const TrtLibrary& requireLibrary() {
  const TrtLibrary& lib = TrtLibrary::instance();
  if (!lib.probe().found) {
    std::string tried;
    for (const auto& a : lib.probe().inferAttempts) tried += " " + a.file + (a.error.empty() ? "" : " (" + a.error + ")");
    throw CodedError("INSPECTD_TRT_NOT_FOUND", "TensorRT is not usable: " + lib.probe().reason + "; tried" + tried);
  }
  return lib;
}

Unique<nvinfer1::IRuntime> createRuntime(Logger& logger) {
  using Factory = void* (*)(void*, int32_t);
  auto factory = reinterpret_cast<Factory>(requireLibrary().inferSymbol("createInferRuntime_INTERNAL"));
  auto* runtime = static_cast<nvinfer1::IRuntime*>(factory(&logger, NV_TENSORRT_VERSION));
  if (!runtime) throw CodedError("INSPECTD_TRT_NOT_FOUND", "TensorRT refused to create a runtime: " + logger.lastError());
  return Unique<nvinfer1::IRuntime>(runtime);
}

Unique<nvinfer1::IBuilder> createBuilder(Logger& logger) {
  using Factory = void* (*)(void*, int32_t);
  auto factory = reinterpret_cast<Factory>(requireLibrary().inferSymbol("createInferBuilder_INTERNAL"));
  if (!factory) throw CodedError("INSPECTD_TRT_NOT_FOUND", "libnvinfer has no createInferBuilder_INTERNAL (a lean runtime has no builder)");
  auto* builder = static_cast<nvinfer1::IBuilder*>(factory(&logger, NV_TENSORRT_VERSION));
  if (!builder) throw CodedError("INSPECTD_TRT_NOT_FOUND", "TensorRT refused to create a builder: " + logger.lastError());
  return Unique<nvinfer1::IBuilder>(builder);
}

std::string dataTypeName(nvinfer1::DataType type) {
  using nvinfer1::DataType;
  switch (type) {
    case DataType::kFLOAT: return "float32";
    case DataType::kHALF: return "float16";
    case DataType::kINT8: return "int8";
    case DataType::kINT32: return "int32";
    case DataType::kINT64: return "int64";
    case DataType::kBOOL: return "bool";
    case DataType::kUINT8: return "uint8";
    case DataType::kBF16: return "bfloat16";
    default: return "unsupported";
  }
}

size_t dataTypeSize(nvinfer1::DataType type) {
  using nvinfer1::DataType;
  switch (type) {
    case DataType::kFLOAT: case DataType::kINT32: return 4;
    case DataType::kHALF: case DataType::kBF16: return 2;
    case DataType::kINT64: return 8;
    case DataType::kINT8: case DataType::kBOOL: case DataType::kUINT8: return 1;
    default: return 0;
  }
}

namespace {

std::vector<char> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CodedError("INSPECTD_MODEL_LOAD", "cannot read engine file " + path);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TensorInfo describe(const char* name, nvinfer1::DataType type, const nvinfer1::Dims& dims) {
  TensorInfo t;
  t.name = name;
  t.type = dataTypeName(type);
  size_t count = 1;
  for (int i = 0; i < dims.nbDims; ++i) {
    t.dims.push_back(dims.d[i]);
    count *= static_cast<size_t>(dims.d[i] < 0 ? 0 : dims.d[i]);
  }
  t.bytes = count * dataTypeSize(type);
  if (t.bytes == 0) throw CodedError("INSPECTD_ENGINE_INCOMPATIBLE", std::string("engine tensor ") + name + " has an unsupported type or an unresolved shape");
  return t;
}

class TensorRtStage final : public InferStage {
 public:
  TensorRtStage(const std::string& path, int slots, int batch) {
    const std::vector<char> plan = readFile(path);
    runtime_ = createRuntime(logger_);
    engine_.reset(runtime_->deserializeCudaEngine(plan.data(), plan.size()));
    if (!engine_)
      throw CodedError("INSPECTD_ENGINE_INCOMPATIBLE", "TensorRT cannot load engine " + path +
                                                           " (engines are specific to one GPU model and TensorRT version; rebuild it with "
                                                           "inspectd build-engine): " + logger_.lastError());
    std::vector<const char*> inputs, outputs;
    for (int32_t i = 0; i < engine_->getNbIOTensors(); ++i) {
      const char* name = engine_->getIOTensorName(i);
      (engine_->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT ? inputs : outputs).push_back(name);
    }
    if (inputs.size() != 1) throw CodedError("INSPECTD_ENGINE_INCOMPATIBLE", "engine has " + std::to_string(inputs.size()) + " inputs; inspectd models have one");
    const char* inputName = inputs[0];
    for (int s = 0; s < slots; ++s) {
      Unique<nvinfer1::IExecutionContext> context(engine_->createExecutionContext());
      if (!context) throw CodedError("INSPECTD_CUDA_OOM", "TensorRT could not create an execution context: " + logger_.lastError());
      nvinfer1::Dims shape = engine_->getTensorShape(inputName);
      bool dynamic = false;
      for (int d = 0; d < shape.nbDims; ++d) dynamic = dynamic || shape.d[d] < 0;
      if (dynamic) {
        // Dynamic shapes: the profile's optimum with the batch we run, within the profile's range.
        const nvinfer1::Dims lo = engine_->getProfileShape(inputName, 0, nvinfer1::OptProfileSelector::kMIN);
        const nvinfer1::Dims hi = engine_->getProfileShape(inputName, 0, nvinfer1::OptProfileSelector::kMAX);
        shape = engine_->getProfileShape(inputName, 0, nvinfer1::OptProfileSelector::kOPT);
        shape.d[0] = std::min<int64_t>(std::max<int64_t>(batch, lo.d[0]), hi.d[0]);
        if (!context->setInputShape(inputName, shape))
          throw CodedError("INSPECTD_ENGINE_INCOMPATIBLE", std::string("engine rejects input shape for ") + inputName + ": " + logger_.lastError());
      }
      if (s == 0) {
        input_ = describe(inputName, engine_->getTensorDataType(inputName), shape);
        for (const char* name : outputs) outputs_.push_back(describe(name, engine_->getTensorDataType(name), context->getTensorShape(name)));
      }
      inputDevice_.emplace_back(input_.bytes);
      if (!context->setTensorAddress(inputName, inputDevice_.back().get()))
        throw CodedError("INSPECTD_ENGINE_INCOMPATIBLE", std::string("cannot bind ") + inputName + ": " + logger_.lastError());
      outputDevice_.emplace_back();
      outputHost_.emplace_back();
      for (size_t k = 0; k < outputs.size(); ++k) {
        outputDevice_.back().emplace_back(outputs_[k].bytes);
        outputHost_.back().emplace_back(outputs_[k].bytes);
        if (!context->setTensorAddress(outputs[k], outputDevice_.back().back().get()))
          throw CodedError("INSPECTD_ENGINE_INCOMPATIBLE", std::string("cannot bind ") + outputs[k] + ": " + logger_.lastError());
      }
      contexts_.push_back(std::move(context));
    }
  }

  ~TensorRtStage() override {
    contexts_.clear();  // contexts before the engine, the engine before the runtime
    engine_.reset();
    runtime_.reset();
  }

  std::string name() const override { return "tensorrt"; }
  const TensorInfo& input() const override { return input_; }
  const std::vector<TensorInfo>& outputs() const override { return outputs_; }
  void* inputDevice(int slot) override { return inputDevice_[slot].get(); }
  void* outputHost(int slot, int output) override { return outputHost_[slot][output].get(); }

  void enqueue(int slot, cudaStream_t stream) override {
    if (!contexts_[slot]->enqueueV3(stream)) throw CodedError("INSPECTD_INFER", "TensorRT enqueueV3 failed: " + logger_.lastError());
    for (size_t k = 0; k < outputs_.size(); ++k)
      cudaCheck(cudaMemcpyAsync(outputHost_[slot][k].get(), outputDevice_[slot][k].get(), outputs_[k].bytes, cudaMemcpyDeviceToHost, stream),
                "cudaMemcpyAsync (output to host)");
  }

 private:
  Logger logger_;  // declared first: TensorRT objects may log while being destroyed
  Unique<nvinfer1::IRuntime> runtime_;
  Unique<nvinfer1::ICudaEngine> engine_;
  std::vector<Unique<nvinfer1::IExecutionContext>> contexts_;
  TensorInfo input_;
  std::vector<TensorInfo> outputs_;
  std::vector<DeviceBuffer> inputDevice_;
  std::vector<std::vector<DeviceBuffer>> outputDevice_;
  std::vector<std::vector<PinnedBuffer>> outputHost_;
};

}  // namespace
}  // namespace inspectd::trt

namespace inspectd {

std::unique_ptr<InferStage> makeTensorRtStage(const std::string& enginePath, int slots, int batch) {
  return std::make_unique<trt::TensorRtStage>(enginePath, slots, batch);
}

}  // namespace inspectd
