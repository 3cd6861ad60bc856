// FramePipeline: a fixed set of slots, each with its own CUDA stream, pinned frame buffer, device
// buffers and events, all allocated when the pipeline is made. run(slot) enqueues upload ->
// preprocessing -> stage (TensorRT or pass-through) -> download on the slot's stream and returns a
// promise; a host callback at the end of the stream hands the slot to a thread-safe function, which
// settles the promise on the JS thread. Nothing is allocated per frame and no JS value is touched
// off the JS thread.
#pragma once
#include <napi.h>

namespace inspectd {

void registerFramePipeline(Napi::Env env, Napi::Object exports);

}  // namespace inspectd
