// inspectd build-engine's native half: ONNX -> TensorRT engine on a worker thread (builds take
// minutes), with progress reported back to JS while it runs. INT8 comes only from the network's
// own Q/DQ nodes, built as a strongly typed network: TensorRT 11 has no other way (its weakly
// typed precision flags and implicit INT8 calibration are gone), and on 10 this is the same path.
#include <NvOnnxParser.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

#include "trt_common.h"

namespace inspectd::trt {

namespace {

struct BuildOptions {
  std::string onnxPath, outPath, precision, timingCachePath;
  size_t workspaceBytes = size_t(1) << 30;
  int maxBatch = 1;
};

struct BuildResult {
  size_t engineBytes = 0;
  bool hasQdq = false;
  std::string layersJson;
};

using Progress = Napi::AsyncProgressQueueWorker<std::string>::ExecutionProgress;

class ProgressMonitor final : public nvinfer1::IProgressMonitor {
 public:
  explicit ProgressMonitor(const Progress& progress) : progress_(progress) {}
  void phaseStart(char const* phase, char const* parent, int32_t steps) noexcept override {
    send(std::string(parent ? std::string(parent) + " / " : "") + phase + " (" + std::to_string(steps) + " steps)");
  }
  bool stepComplete(char const*, int32_t) noexcept override { return true; }  // never cancel
  void phaseFinish(char const* phase) noexcept override { send(std::string(phase) + " done"); }

 private:
  void send(const std::string& line) noexcept {
    try {
      progress_.Send(&line, 1);
    } catch (...) {
    }
  }
  const Progress& progress_;
};

std::vector<char> readIfExists(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeAtomically(const std::string& path, const void* data, size_t bytes) {
  const std::string tmp = path + ".partial";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
    if (!out) throw CodedError("INSPECTD_ENGINE_BUILD", "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw CodedError("INSPECTD_ENGINE_BUILD", "cannot rename " + tmp + " to " + path);
}

BuildResult build(const BuildOptions& o, const Progress& progress) {
  Logger logger;
  const TrtLibrary& lib = requireLibrary();
  Unique<nvinfer1::IBuilder> builder = createBuilder(logger);

  const bool fp16 = o.precision == "fp16";
#if NV_TENSORRT_MAJOR >= 11
  // Every TensorRT 11 network is strongly typed: types come from the ONNX file.
  if (fp16)
    throw CodedError("INSPECTD_ENGINE_BUILD", "TensorRT 11 takes precisions from the model only: export an FP16 ONNX, or build int8 from the Q/DQ model");
  const uint32_t flags = 0;
#else
  // fp16 is the one weakly typed build left (TensorRT 10 chooses FP16 kernels where it can).
  const uint32_t flags = fp16 ? 0U : 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED);
#endif
  Unique<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(flags));
  if (!network) throw CodedError("INSPECTD_ENGINE_BUILD", "createNetworkV2 failed: " + logger.lastError());

  using ParserFactory = void* (*)(void*, void*, int);
  auto parserFactory = reinterpret_cast<ParserFactory>(lib.parserSymbol("createNvOnnxParser_INTERNAL"));
  if (!parserFactory)
    throw CodedError("INSPECTD_TRT_NOT_FOUND", "TensorRT's ONNX parser (libnvonnxparser.so." + std::to_string(NV_TENSORRT_MAJOR) +
                                                   ") could not be opened: install libnvonnxparsers" + std::to_string(NV_TENSORRT_MAJOR));
  Unique<nvonnxparser::IParser> parser(static_cast<nvonnxparser::IParser*>(parserFactory(network.get(), &logger, NV_ONNX_PARSER_VERSION)));
  if (!parser) throw CodedError("INSPECTD_ENGINE_BUILD", "cannot create the ONNX parser: " + logger.lastError());
  std::string line = "parsing " + o.onnxPath;
  progress.Send(&line, 1);
  if (!parser->parseFromFile(o.onnxPath.c_str(), static_cast<int32_t>(nvinfer1::ILogger::Severity::kWARNING))) {
    std::string errors;
    for (int32_t i = 0; i < parser->getNbErrors(); ++i) errors += std::string("\n  ") + parser->getError(i)->desc();
    throw CodedError("INSPECTD_MODEL_LOAD", "TensorRT cannot parse " + o.onnxPath + ":" + errors);
  }

  BuildResult result;
  for (int32_t i = 0; i < network->getNbLayers(); ++i) {
    const nvinfer1::LayerType type = network->getLayer(i)->getType();
    result.hasQdq = result.hasQdq || type == nvinfer1::LayerType::kQUANTIZE || type == nvinfer1::LayerType::kDEQUANTIZE;
  }
  if (o.precision == "int8" && !result.hasQdq)
    throw CodedError("INSPECTD_ENGINE_BUILD", o.onnxPath + " has no QuantizeLinear/DequantizeLinear nodes: INT8 engines are built only from "
                                              "explicitly quantized (Q/DQ) models such as the model toolchain's model.int8.onnx");

  Unique<nvinfer1::IBuilderConfig> config(builder->createBuilderConfig());
  config->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, o.workspaceBytes);
  config->setProfilingVerbosity(nvinfer1::ProfilingVerbosity::kDETAILED);  // so the inspector can name each layer's precision
#if NV_TENSORRT_MAJOR < 11
  if (fp16) config->setFlag(nvinfer1::BuilderFlag::kFP16);
#endif
  ProgressMonitor monitor(progress);
  config->setProgressMonitor(&monitor);

  // Dynamic inputs get one profile: batch 1 .. maxBatch, other dimensions as exported.
  nvinfer1::IOptimizationProfile* profile = nullptr;
  for (int32_t i = 0; i < network->getNbInputs(); ++i) {
    nvinfer1::ITensor* input = network->getInput(i);
    nvinfer1::Dims dims = input->getDimensions();
    if (dims.nbDims == 0 || dims.d[0] >= 0) continue;
    for (int d = 1; d < dims.nbDims; ++d)
      if (dims.d[d] < 0)
        throw CodedError("INSPECTD_ENGINE_BUILD", std::string("input ") + input->getName() + " has a dynamic dimension other than the batch; export a fixed input size");
    if (!profile) profile = builder->createOptimizationProfile();
    nvinfer1::Dims lo = dims, hi = dims;
    lo.d[0] = 1;
    hi.d[0] = o.maxBatch;
    profile->setDimensions(input->getName(), nvinfer1::OptProfileSelector::kMIN, lo);
    profile->setDimensions(input->getName(), nvinfer1::OptProfileSelector::kOPT, lo);
    profile->setDimensions(input->getName(), nvinfer1::OptProfileSelector::kMAX, hi);
  }
  if (profile && config->addOptimizationProfile(profile) < 0) throw CodedError("INSPECTD_ENGINE_BUILD", "invalid optimisation profile: " + logger.lastError());

  Unique<nvinfer1::ITimingCache> cache;
  if (!o.timingCachePath.empty()) {
    const std::vector<char> blob = readIfExists(o.timingCachePath);
    cache.reset(config->createTimingCache(blob.data(), blob.size()));
    if (!cache || !config->setTimingCache(*cache, false)) throw CodedError("INSPECTD_ENGINE_BUILD", "cannot use timing cache " + o.timingCachePath);
  }

  line = "building (this takes minutes)";
  progress.Send(&line, 1);
  Unique<nvinfer1::IHostMemory> plan(builder->buildSerializedNetwork(*network, *config));
  if (!plan || plan->size() == 0) throw CodedError("INSPECTD_ENGINE_BUILD", "TensorRT could not build the engine: " + logger.lastError());
  writeAtomically(o.outPath, plan->data(), plan->size());
  result.engineBytes = plan->size();
  if (cache) {
    Unique<nvinfer1::IHostMemory> serialized(cache->serialize());
    if (serialized) writeAtomically(o.timingCachePath, serialized->data(), serialized->size());
  }

  // Each layer's chosen precision, from the built engine itself.
  Unique<nvinfer1::IRuntime> runtime = createRuntime(logger);
  Unique<nvinfer1::ICudaEngine> engine(runtime->deserializeCudaEngine(plan->data(), plan->size()));
  if (engine) {
    Unique<nvinfer1::IEngineInspector> inspector(engine->createEngineInspector());
    if (inspector) result.layersJson = inspector->getEngineInformation(nvinfer1::LayerInformationFormat::kJSON);
  }
  return result;
}

class BuildWorker final : public Napi::AsyncProgressQueueWorker<std::string> {
 public:
  BuildWorker(Napi::Env env, BuildOptions options, Napi::Function onProgress)
      : Napi::AsyncProgressQueueWorker<std::string>(env), options_(std::move(options)), deferred_(Napi::Promise::Deferred::New(env)) {
    if (!onProgress.IsEmpty()) onProgress_ = Napi::Persistent(onProgress);
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    try {
      result_ = build(options_, progress);
    } catch (const CodedError& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::exception& e) {
      code_ = "INSPECTD_ENGINE_BUILD";
      SetError(e.what());
    }
  }
  void OnProgress(const std::string* lines, size_t count) override {
    if (onProgress_.IsEmpty()) return;
    for (size_t i = 0; i < count; ++i) onProgress_.Call({Napi::String::New(Env(), lines[i])});
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("engineBytes", Napi::Number::New(env, static_cast<double>(result_.engineBytes)));
    o.Set("hasQdq", result_.hasQdq);
    o.Set("layers", result_.layersJson);
    o.Set("libraryVersion", TrtLibrary::instance().probe().libraryVersion);
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(toJsError(Env(), code_, e.Message()).Value()); }

 private:
  BuildOptions options_;
  BuildResult result_;
  std::string code_ = "INSPECTD_ENGINE_BUILD";
  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference onProgress_;
};

Napi::Value buildEngine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  BuildOptions options;
  options.onnxPath = o.Get("onnx").As<Napi::String>().Utf8Value();
  options.outPath = o.Get("out").As<Napi::String>().Utf8Value();
  options.precision = o.Get("precision").As<Napi::String>().Utf8Value();
  if (o.Get("timingCache").IsString()) options.timingCachePath = o.Get("timingCache").As<Napi::String>().Utf8Value();
  if (o.Get("workspaceMb").IsNumber()) options.workspaceBytes = static_cast<size_t>(o.Get("workspaceMb").As<Napi::Number>().DoubleValue()) << 20;
  if (o.Get("maxBatch").IsNumber()) options.maxBatch = o.Get("maxBatch").As<Napi::Number>().Int32Value();
  auto* worker = new BuildWorker(env, std::move(options), info[1].IsFunction() ? info[1].As<Napi::Function>() : Napi::Function());
  Napi::Promise promise = worker->promise();
  worker->Queue();  // node-addon-api deletes the worker after OnOK/OnError
  return promise;
}

}  // namespace
}  // namespace inspectd::trt

namespace inspectd {

void registerTensorRt(Napi::Env env, Napi::Object exports) {
  exports.Set("buildEngine", Napi::Function::New(env, trt::buildEngine, "buildEngine"));
}

}  // namespace inspectd
