#include "cuda_raii.h"

namespace inspectd {

AllocationCounters& allocationCounters() {
  static AllocationCounters counters;
  return counters;
}

}  // namespace inspectd
