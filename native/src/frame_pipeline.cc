#include "frame_pipeline.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coded_error.h"
#include "cuda_raii.h"
#include "infer_stage.h"
#include "preprocess.h"
#include "preprocess_params.h"

namespace inspectd {

namespace {

struct Core;

struct Slot {
  Core* core = nullptr;
  int index = 0;
  std::unique_ptr<Stream> stream;
  std::unique_ptr<Event> started, uploaded, preprocessed, finished;
  PinnedBuffer frameHost;  // camera pixels (or a ready tensor) written by JS
  DeviceBuffer frameDevice;
  std::optional<Napi::Promise::Deferred> pending;  // set while the slot is in flight
  float timings[3] = {0, 0, 0};  // upload, preprocess, stage (inference + download), ms
};

void CUDART_CB streamDone(void* data);
void settle(Napi::Env env, Napi::Function, Core* core, Slot* slot);
using CompletionFn = Napi::TypedThreadSafeFunction<Core, Slot, settle>;

// Everything one pipeline owns. Shared between the JS object, the thread-safe function's finaliser
// and the environment's cleanup hook; whichever ends first frees the CUDA resources, once.
struct Core {
  int device = 0;
  PreprocessParams params;
  std::unique_ptr<InferStage> stage;
  std::vector<std::unique_ptr<Slot>> slots;
  CompletionFn completion;
  std::vector<Napi::Reference<Napi::ArrayBuffer>> views;  // detached on close
  std::optional<Napi::Env::CleanupHook<std::function<void()>>> cleanupHook;
  std::optional<Napi::Promise::Deferred> closing;
  int inFlight = 0;
  bool closed = false;
  bool released = false;
  uint64_t submitted = 0, completed = 0;

  // Waits for the GPU, then frees in dependency order: the stage (engine contexts use the
  // streams' memory), then buffers, events and streams. Called on the JS thread only.
  void release() noexcept {
    if (released) return;
    released = true;
    cudaSetDevice(device);
    for (auto& s : slots)
      if (s->stream) cudaStreamSynchronize(s->stream->get());
    stage.reset();
    slots.clear();
  }
};

void CUDART_CB streamDone(void* data) {
  // Runs on a CUDA driver thread: it may not call CUDA or touch JS, only queue the slot.
  auto* slot = static_cast<Slot*>(data);
  slot->core->completion.NonBlockingCall(slot);
}

void settle(Napi::Env env, Napi::Function, Core* core, Slot* slot) {
  if (env == nullptr || !slot->pending) return;  // environment tearing down
  Napi::Promise::Deferred deferred = std::move(*slot->pending);
  slot->pending.reset();
  core->completed++;
  if (--core->inFlight == 0 && !core->closed) core->completion.Unref(env);
  cudaSetDevice(core->device);
  const cudaError_t status = cudaEventQuery(slot->finished->get());
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    const std::string code = status == cudaErrorMemoryAllocation ? "INSPECTD_CUDA_OOM" : "INSPECTD_CUDA";
    deferred.Reject(toJsError(env, code, std::string("GPU work for a frame failed: ") + cudaGetErrorName(status) + " (" +
                                              cudaGetErrorString(status) + ")")
                        .Value());
    return;
  }
  float total = 0;
  cudaEventElapsedTime(&slot->timings[0], slot->started->get(), slot->uploaded->get());
  cudaEventElapsedTime(&slot->timings[1], slot->uploaded->get(), slot->preprocessed->get());
  cudaEventElapsedTime(&slot->timings[2], slot->preprocessed->get(), slot->finished->get());
  cudaEventElapsedTime(&total, slot->started->get(), slot->finished->get());
  deferred.Resolve(Napi::Number::New(env, total));
}

Napi::Object describeTensor(Napi::Env env, const TensorInfo& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", t.name);
  Napi::Array dims = Napi::Array::New(env, t.dims.size());
  for (size_t i = 0; i < t.dims.size(); ++i) dims.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(t.dims[i])));
  o.Set("dims", dims);
  o.Set("type", t.type);
  o.Set("bytes", Napi::Number::New(env, static_cast<double>(t.bytes)));
  return o;
}

class FramePipeline : public Napi::ObjectWrap<FramePipeline> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "FramePipeline",
                       {InstanceMethod<&FramePipeline::run>("run"), InstanceMethod<&FramePipeline::describe>("describe"),
                        InstanceMethod<&FramePipeline::timings>("timings"), InstanceMethod<&FramePipeline::stats>("stats"),
                        InstanceMethod<&FramePipeline::benchmarkKernel>("benchmarkKernel"),
                        InstanceMethod<&FramePipeline::close>("close")});
  }

  FramePipeline(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FramePipeline>(info) {
    Napi::Env env = info.Env();
    guarded(env, [&] {
      if (!info[0].IsObject()) throw CodedError("INSPECTD_USAGE", "FramePipeline: expected an options object");
      Napi::Object o = info[0].As<Napi::Object>();
      core_ = std::make_shared<Core>();
      Core& core = *core_;
      core.device = intField(o, "device", 0);
      core.params = readParams(o);
      const int slots = intField(o, "slots", 2);
      if (slots < 1 || slots > 64) throw CodedError("INSPECTD_USAGE", "FramePipeline: slots must be 1..64");
      cudaCheck(cudaSetDevice(core.device), "cudaSetDevice");

      TensorInfo input;
      input.name = "input";
      const PreprocessParams& p = core.params;
      input.dims = p.nchw ? std::vector<int64_t>{1, p.channels, p.dstHeight, p.dstWidth} : std::vector<int64_t>{1, p.dstHeight, p.dstWidth, p.channels};
      input.type = p.half ? "float16" : "float32";
      input.bytes = tensorBytes(p);
      Napi::Value engine = o.Get("enginePath");
      core.stage = engine.IsString() ? makeTensorRtStage(engine.As<Napi::String>().Utf8Value(), slots, 1) : makePassThroughStage(input, slots);
      if (core.stage->input().bytes != input.bytes || core.stage->input().type != input.type)
        throw CodedError("INSPECTD_ENGINE_INCOMPATIBLE", "engine input " + core.stage->input().name + " is " + core.stage->input().type + " of " +
                                                             std::to_string(core.stage->input().bytes) + " bytes; the model's preprocessing makes " +
                                                             input.type + " of " + std::to_string(input.bytes) + " bytes");

      // A slot's host buffer takes either a camera frame or a ready tensor (run mode 1).
      const size_t hostBytes = std::max(frameBytes(p), input.bytes);
      Napi::Array frames = Napi::Array::New(env, slots);
      Napi::Array outputs = Napi::Array::New(env, slots);
      for (int i = 0; i < slots; ++i) {
        auto slot = std::make_unique<Slot>();
        slot->core = &core;
        slot->index = i;
        slot->stream = std::make_unique<Stream>();
        slot->started = std::make_unique<Event>();
        slot->uploaded = std::make_unique<Event>();
        slot->preprocessed = std::make_unique<Event>();
        slot->finished = std::make_unique<Event>();
        slot->frameHost = PinnedBuffer(hostBytes);
        slot->frameDevice = DeviceBuffer(frameBytes(p) + FRAME_SLACK);
        frames.Set(i, view(env, slot->frameHost.get(), hostBytes));
        Napi::Array outs = Napi::Array::New(env, core.stage->outputs().size());
        for (size_t k = 0; k < core.stage->outputs().size(); ++k)
          outs.Set(static_cast<uint32_t>(k), view(env, core.stage->outputHost(i, static_cast<int>(k)), core.stage->outputs()[k].bytes));
        outputs.Set(i, outs);
        core.slots.push_back(std::move(slot));
      }
      Value().Set("frameBuffers", frames);
      Value().Set("outputBuffers", outputs);

      auto* keep = new std::shared_ptr<Core>(core_);
      core.completion = CompletionFn::New(env, "inspectd-gpu-completion", 0, 1, &core,
                                          [](Napi::Env e, std::shared_ptr<Core>* held, Core*) {
                                            // Every queued completion has run: the stream work is done.
                                            Core& c = **held;
                                            c.release();
                                            if (c.closing && e != nullptr) c.closing->Resolve(e.Undefined());
                                            c.closing.reset();
                                            delete held;
                                          },
                                          keep);
      core.completion.Unref(env);  // an idle pipeline does not keep the process alive
      // When a worker thread or the process ends without close(), free the GPU resources anyway.
      std::weak_ptr<Core> weak = core_;
      core.cleanupHook = env.AddCleanupHook(std::function<void()>([weak] {
        if (auto c = weak.lock()) c->release();
      }));
    });
  }

  // Collected without close(): stop taking frames and let the finaliser free the GPU memory.
  // (The views cannot be detached from a finaliser; the wrapper holds them only through this object.)
  ~FramePipeline() override {
    if (!core_ || core_->closed) return;
    core_->closed = true;
    cudaSetDevice(core_->device);
    for (auto& s : core_->slots) cudaStreamSynchronize(s->stream->get());
    core_->completion.Release();
  }

 private:
  Napi::ArrayBuffer view(Napi::Env env, void* data, size_t bytes) {
    // The memory belongs to the pipeline: no finaliser; close() detaches the views.
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, data, bytes);
    core_->views.push_back(Napi::Persistent(ab));
    return ab;
  }

  Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto deferred = Napi::Promise::Deferred::New(env);
    Core& core = *core_;
    const int index = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
    const int mode = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
    if (core.closed) {
      deferred.Reject(toJsError(env, "INSPECTD_BACKEND_CLOSED", "GPU pipeline is closed").Value());
      return deferred.Promise();
    }
    if (index < 0 || index >= static_cast<int>(core.slots.size()) || core.slots[index]->pending) {
      deferred.Reject(toJsError(env, "INSPECTD_USAGE", "slot " + std::to_string(index) + " is not a free slot of this pipeline").Value());
      return deferred.Promise();
    }
    Slot& slot = *core.slots[index];
    try {
      cudaCheck(cudaSetDevice(core.device), "cudaSetDevice");
      cudaStream_t s = slot.stream->get();
      void* input = core.stage->inputDevice(index);
      cudaCheck(cudaEventRecord(slot.started->get(), s), "cudaEventRecord");
      if (mode == 1) {  // a tensor made on the CPU: straight into the input buffer
        cudaCheck(cudaMemcpyAsync(input, slot.frameHost.get(), core.stage->input().bytes, cudaMemcpyHostToDevice, s), "cudaMemcpyAsync (tensor)");
        cudaCheck(cudaEventRecord(slot.uploaded->get(), s), "cudaEventRecord");
      } else {
        cudaCheck(cudaMemcpyAsync(slot.frameDevice.get(), slot.frameHost.get(), frameBytes(core.params), cudaMemcpyHostToDevice, s),
                  "cudaMemcpyAsync (frame)");
        cudaCheck(cudaEventRecord(slot.uploaded->get(), s), "cudaEventRecord");
        cudaCheck(launchPreprocess(core.params, static_cast<const uint8_t*>(slot.frameDevice.get()), input, s), "preprocessing kernel launch");
      }
      cudaCheck(cudaEventRecord(slot.preprocessed->get(), s), "cudaEventRecord");
      core.stage->enqueue(index, s);
      cudaCheck(cudaEventRecord(slot.finished->get(), s), "cudaEventRecord");
      cudaCheck(cudaLaunchHostFunc(s, streamDone, &slot), "cudaLaunchHostFunc");
    } catch (const CodedError& e) {
      cudaStreamSynchronize(slot.stream->get());  // leave the slot with nothing half-enqueued
      deferred.Reject(toJsError(env, e).Value());
      return deferred.Promise();
    }
    slot.pending = deferred;
    core.submitted++;
    if (core.inFlight++ == 0) core.completion.Ref(env);  // keep the process alive until it settles
    return deferred.Promise();
  }

  Napi::Value describe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (core_->released) return o;
    o.Set("stage", core_->stage->name());
    o.Set("input", describeTensor(env, core_->stage->input()));
    Napi::Array outs = Napi::Array::New(env, core_->stage->outputs().size());
    for (size_t i = 0; i < core_->stage->outputs().size(); ++i) outs.Set(static_cast<uint32_t>(i), describeTensor(env, core_->stage->outputs()[i]));
    o.Set("outputs", outs);
    o.Set("resize", static_cast<int>(core_->params.resize));
    o.Set("areaFastScale", core_->params.areaFastScale);
    return o;
  }

  Napi::Value timings(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int index = info[0].As<Napi::Number>().Int32Value();
    Napi::Array out = Napi::Array::New(env, 3);
    if (index >= 0 && index < static_cast<int>(core_->slots.size()))
      for (uint32_t k = 0; k < 3; ++k) out.Set(k, Napi::Number::New(env, core_->slots[index]->timings[k]));
    return out;
  }

  Napi::Value stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("submitted", Napi::Number::New(env, static_cast<double>(core_->submitted)));
    o.Set("completed", Napi::Number::New(env, static_cast<double>(core_->completed)));
    o.Set("inFlight", core_->inFlight);
    return o;
  }

  // Benchmarks only: the preprocessing kernel alone, `iterations` launches back to back on slot 0's
  // stream, rotating over `sets` copies of slot 0's frame and as many output tensors (together
  // larger than L2, so the timing is of memory, not cache). Returns ms per launch (CUDA events).
  Napi::Value benchmarkKernel(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      Core& core = *core_;
      if (core.closed || core.inFlight > 0) throw CodedError("INSPECTD_USAGE", "benchmarkKernel needs an open, idle pipeline");
      const int iterations = info[0].As<Napi::Number>().Int32Value();
      const int sets = info[1].As<Napi::Number>().Int32Value();
      cudaCheck(cudaSetDevice(core.device), "cudaSetDevice");
      Slot& slot = *core.slots[0];
      cudaStream_t s = slot.stream->get();
      std::vector<DeviceBuffer> frames, tensors;
      for (int i = 0; i < sets; ++i) {
        frames.emplace_back(frameBytes(core.params) + FRAME_SLACK);
        tensors.emplace_back(tensorBytes(core.params));
        cudaCheck(cudaMemcpyAsync(frames.back().get(), slot.frameHost.get(), frameBytes(core.params), cudaMemcpyHostToDevice, s), "cudaMemcpyAsync");
      }
      auto launch = [&](int i) {
        cudaCheck(launchPreprocess(core.params, static_cast<const uint8_t*>(frames[i % sets].get()), tensors[i % sets].get(), s), "kernel launch");
      };
      for (int i = 0; i < 20; ++i) launch(i);  // warm-up: clocks up, module loaded
      // single: each launch alone between its own two events, the GPU idle before it (what one frame
      // sees); the median. Otherwise the mean over back-to-back launches (each launch's set-up hidden
      // behind the one before). copyBandwidth times the reference copy both ways too.
      if (info.Length() > 2 && info[2].ToBoolean().Value()) {
        std::vector<float> each(iterations);
        for (int i = 0; i < iterations; ++i) {
          cudaCheck(cudaEventRecord(slot.started->get(), s), "cudaEventRecord");
          launch(i);
          cudaCheck(cudaEventRecord(slot.finished->get(), s), "cudaEventRecord");
          cudaCheck(cudaEventSynchronize(slot.finished->get()), "cudaEventSynchronize");
          cudaCheck(cudaEventElapsedTime(&each[i], slot.started->get(), slot.finished->get()), "cudaEventElapsedTime");
        }
        std::sort(each.begin(), each.end());
        return Napi::Number::New(env, each[iterations / 2]);
      }
      cudaCheck(cudaEventRecord(slot.started->get(), s), "cudaEventRecord");
      for (int i = 0; i < iterations; ++i) launch(i);
      cudaCheck(cudaEventRecord(slot.finished->get(), s), "cudaEventRecord");
      cudaCheck(cudaEventSynchronize(slot.finished->get()), "cudaEventSynchronize");
      float ms = 0;
      cudaCheck(cudaEventElapsedTime(&ms, slot.started->get(), slot.finished->get()), "cudaEventElapsedTime");
      return Napi::Number::New(env, ms / iterations);
    });
  }

  Napi::Value close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Core& core = *core_;
    if (core.closed) {
      if (core.closing) return core.closing->Promise();
      auto done = Napi::Promise::Deferred::New(env);
      done.Resolve(env.Undefined());
      return done.Promise();
    }
    core.closed = true;
    core.closing = Napi::Promise::Deferred::New(env);
    Napi::Promise promise = core.closing->Promise();
    cudaSetDevice(core.device);
    // In-flight frames finish (their promises still settle, the completions are queued first).
    for (auto& s : core.slots) cudaStreamSynchronize(s->stream->get());
    for (auto& v : core.views) {
      Napi::ArrayBuffer ab = v.Value();
      if (!ab.IsDetached()) ab.Detach();  // JS views of freed memory read as empty, never as garbage
    }
    core.views.clear();
    if (core.cleanupHook) core.cleanupHook->Remove(env);
    core.cleanupHook.reset();
    core.completion.Ref(env);  // the finaliser must run even if nothing else keeps the loop alive
    core.completion.Release();
    return promise;
  }

  std::shared_ptr<Core> core_;
};

}  // namespace

void registerFramePipeline(Napi::Env env, Napi::Object exports) { exports.Set("FramePipeline", FramePipeline::define(env)); }

}  // namespace inspectd
