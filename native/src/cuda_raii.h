// RAII owners for the CUDA objects the addon creates, and the one status check every CUDA call
// goes through. Destructors never throw: a failed free during teardown is counted, not raised.
#pragma once
#include <cuda_runtime_api.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "coded_error.h"

namespace inspectd {

// Turns a CUDA status into a CodedError naming the call; out-of-memory gets its own code so the
// daemon can tell "model too big for this GPU" from a broken driver.
inline void cudaCheck(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();  // clear a non-sticky error so the next call does not see it again
  std::string message = std::string(what) + " failed: " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")";
  throw CodedError(status == cudaErrorMemoryAllocation ? "INSPECTD_CUDA_OOM" : "INSPECTD_CUDA", message);
}

// Every allocation the addon makes is counted, so a test can prove that running frames allocates
// nothing and that closing a pipeline frees everything it took.
struct AllocationCounters {
  std::atomic<uint64_t> deviceAllocations{0};
  std::atomic<uint64_t> pinnedAllocations{0};
  std::atomic<int64_t> deviceBytesLive{0};
  std::atomic<int64_t> pinnedBytesLive{0};
  std::atomic<uint64_t> failedFrees{0};
};
AllocationCounters& allocationCounters();

// Device memory (cudaMalloc) and page-locked host memory (cudaHostAlloc: the only kind a
// cudaMemcpyAsync really overlaps with other work) differ only in these calls and their counters.
struct DeviceMemory {
  static cudaError_t allocate(void** p, size_t n) { return cudaMalloc(p, n); }
  static cudaError_t release(void* p) { return cudaFree(p); }
  static constexpr const char* call = "cudaMalloc";
  static std::atomic<uint64_t>& allocations() { return allocationCounters().deviceAllocations; }
  static std::atomic<int64_t>& live() { return allocationCounters().deviceBytesLive; }
};

struct PinnedMemory {
  static cudaError_t allocate(void** p, size_t n) { return cudaHostAlloc(p, n, cudaHostAllocPortable); }
  static cudaError_t release(void* p) { return cudaFreeHost(p); }
  static constexpr const char* call = "cudaHostAlloc";
  static std::atomic<uint64_t>& allocations() { return allocationCounters().pinnedAllocations; }
  static std::atomic<int64_t>& live() { return allocationCounters().pinnedBytesLive; }
};

template <typename Memory>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t bytes) : bytes_(bytes) {
    if (bytes == 0) return;
    cudaCheck(Memory::allocate(&ptr_, bytes), Memory::call);
    Memory::allocations()++;
    Memory::live() += static_cast<int64_t>(bytes);
  }
  ~Buffer() { reset(); }
  Buffer(Buffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr, o.bytes_ = 0; }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = o.ptr_, bytes_ = o.bytes_;
      o.ptr_ = nullptr, o.bytes_ = 0;
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void* get() const { return ptr_; }
  size_t size() const { return bytes_; }
  void reset() noexcept {
    if (!ptr_) return;
    if (Memory::release(ptr_) != cudaSuccess) allocationCounters().failedFrees++;
    Memory::live() -= static_cast<int64_t>(bytes_);
    ptr_ = nullptr, bytes_ = 0;
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

using DeviceBuffer = Buffer<DeviceMemory>;
using PinnedBuffer = Buffer<PinnedMemory>;

class Stream {
 public:
  Stream() { cudaCheck(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate"); }
  ~Stream() {
    if (stream_ && cudaStreamDestroy(stream_) != cudaSuccess) allocationCounters().failedFrees++;
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

class Event {
 public:
  Event() { cudaCheck(cudaEventCreate(&event_), "cudaEventCreate"); }
  ~Event() {
    if (event_ && cudaEventDestroy(event_) != cudaSuccess) allocationCounters().failedFrees++;
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

}  // namespace inspectd
