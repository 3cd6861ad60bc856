#include "gpu_info.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <vector>

#include "coded_error.h"
#include "cuda_raii.h"

namespace inspectd {

namespace {

// [{index, name, computeCapability, totalMemory, multiProcessors, uuid}]; throws INSPECTD_CUDA
// when there is no driver or no device, with the driver's own reason.
Napi::Value devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    int count = 0;
    cudaCheck(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    Napi::Array list = Napi::Array::New(env, count);
    for (int i = 0; i < count; ++i) {
      cudaDeviceProp prop{};
      cudaCheck(cudaGetDeviceProperties(&prop, i), "cudaGetDeviceProperties");
      Napi::Object d = Napi::Object::New(env);
      d.Set("index", i);
      d.Set("name", prop.name);
      d.Set("computeCapability", std::to_string(prop.major) + "." + std::to_string(prop.minor));
      d.Set("totalMemory", Napi::Number::New(env, static_cast<double>(prop.totalGlobalMem)));
      d.Set("multiProcessors", prop.multiProcessorCount);
      d.Set("integrated", prop.integrated != 0);  // Jetson: CPU and GPU share memory
      list.Set(i, d);
    }
    return list;
  });
}

Napi::Value memoryInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const int device = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
    cudaCheck(cudaSetDevice(device), "cudaSetDevice");
    size_t freeBytes = 0, totalBytes = 0;
    cudaCheck(cudaMemGetInfo(&freeBytes, &totalBytes), "cudaMemGetInfo");
    Napi::Object o = Napi::Object::New(env);
    o.Set("free", Napi::Number::New(env, static_cast<double>(freeBytes)));
    o.Set("total", Napi::Number::New(env, static_cast<double>(totalBytes)));
    return o;
  });
}

Napi::Value allocationStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const AllocationCounters& c = allocationCounters();
  Napi::Object o = Napi::Object::New(env);
  o.Set("deviceAllocations", Napi::Number::New(env, static_cast<double>(c.deviceAllocations.load())));
  o.Set("pinnedAllocations", Napi::Number::New(env, static_cast<double>(c.pinnedAllocations.load())));
  o.Set("deviceBytesLive", Napi::Number::New(env, static_cast<double>(c.deviceBytesLive.load())));
  o.Set("pinnedBytesLive", Napi::Number::New(env, static_cast<double>(c.pinnedBytesLive.load())));
  o.Set("failedFrees", Napi::Number::New(env, static_cast<double>(c.failedFrees.load())));
  return o;
}

// Copy bandwidth in GB/s (bytes read + written for device-to-device, bytes moved for the host
// copies), timed with events over `iterations` copies after a warm-up: the ceiling the
// preprocessing benchmark is measured against, in the same run.
Napi::Value copyBandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const size_t bytes = static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue());
    const int iterations = info[1].As<Napi::Number>().Int32Value();
    // sets > 1: device-to-device copies rotate over that many buffer pairs, so a copy no larger than
    // L2 is timed from memory, as the kernel benchmark is (benchmarkKernel's rotating sets).
    const int sets = info.Length() > 2 ? std::max(1, info[2].As<Napi::Number>().Int32Value()) : 1;
    std::vector<DeviceBuffer> a, b;
    for (int i = 0; i < sets; ++i) {
      a.emplace_back(bytes);
      b.emplace_back(bytes);
      cudaCheck(cudaMemset(a.back().get(), 0x5a, bytes), "cudaMemset");
    }
    PinnedBuffer h(bytes);
    Stream stream;
    Event start, stop;
    auto time = [&](auto dst, auto src, cudaMemcpyKind kind) {
      for (int i = 0; i < 3; ++i) cudaCheck(cudaMemcpyAsync(dst(i), src(i), bytes, kind, stream.get()), "cudaMemcpyAsync");
      cudaCheck(cudaEventRecord(start.get(), stream.get()), "cudaEventRecord");
      for (int i = 0; i < iterations; ++i) cudaCheck(cudaMemcpyAsync(dst(i), src(i), bytes, kind, stream.get()), "cudaMemcpyAsync");
      cudaCheck(cudaEventRecord(stop.get(), stream.get()), "cudaEventRecord");
      cudaCheck(cudaEventSynchronize(stop.get()), "cudaEventSynchronize");
      float ms = 0;
      cudaCheck(cudaEventElapsedTime(&ms, start.get(), stop.get()), "cudaEventElapsedTime");
      return ms / iterations;
    };
    auto devA = [&](int i) { return a[i % sets].get(); };
    auto devB = [&](int i) { return b[i % sets].get(); };
    auto host = [&](int) { return h.get(); };
    Napi::Object o = Napi::Object::New(env);
    if (info.Length() > 3 && info[3].ToBoolean().Value()) {
      // Each device-to-device copy alone between two events, the GPU idle before it; the median
      // (benchmarkKernel's single mode, the same way).
      std::vector<float> each(iterations);
      for (int i = 0; i < iterations; ++i) {
        cudaCheck(cudaEventRecord(start.get(), stream.get()), "cudaEventRecord");
        cudaCheck(cudaMemcpyAsync(devB(i), devA(i), bytes, cudaMemcpyDeviceToDevice, stream.get()), "cudaMemcpyAsync");
        cudaCheck(cudaEventRecord(stop.get(), stream.get()), "cudaEventRecord");
        cudaCheck(cudaEventSynchronize(stop.get()), "cudaEventSynchronize");
        cudaCheck(cudaEventElapsedTime(&each[i], start.get(), stop.get()), "cudaEventElapsedTime");
      }
      std::sort(each.begin(), each.end());
      o.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes)));
      o.Set("deviceToDeviceMs", each[iterations / 2]);
      o.Set("deviceToDeviceGBps", 2.0 * bytes / (each[iterations / 2] * 1e6));
      return o;
    }
    const double d2d = time(devB, devA, cudaMemcpyDeviceToDevice);
    const double h2d = time(devA, host, cudaMemcpyHostToDevice);
    const double d2h = time(host, devA, cudaMemcpyDeviceToHost);
    o.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes)));
    o.Set("deviceToDeviceMs", d2d);
    o.Set("deviceToDeviceGBps", 2.0 * bytes / (d2d * 1e6));
    o.Set("hostToDeviceMs", h2d);
    o.Set("hostToDeviceGBps", bytes / (h2d * 1e6));
    o.Set("deviceToHostMs", d2h);
    o.Set("deviceToHostGBps", bytes / (d2h * 1e6));
    return o;
  });
}

}  // namespace

void registerGpuInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("devices", Napi::Function::New(env, devices, "devices"));
  exports.Set("memoryInfo", Napi::Function::New(env, memoryInfo, "memoryInfo"));
  exports.Set("allocationStats", Napi::Function::New(env, allocationStats, "allocationStats"));
  exports.Set("copyBandwidth", Napi::Function::New(env, copyBandwidth, "copyBandwidth"));
}

}  // namespace inspectd
