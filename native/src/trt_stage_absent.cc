// Built instead of trt_engine.cc / trt_builder.cc when no TensorRT headers were found at build
// time: the addon still loads, and asking for TensorRT says why it is not there.
#include <napi.h>

#include "coded_error.h"
#include "infer_stage.h"

namespace inspectd {

std::unique_ptr<InferStage> makeTensorRtStage(const std::string&, int, int) {
  throw CodedError("INSPECTD_TRT_NOT_FOUND",
                   "this inspectd addon was built without TensorRT headers (NvInfer.h, NvOnnxParser.h); install TensorRT's "
                   "development package (libnvinfer-dev and libnvonnxparsers-dev, or JetPack's) and run scripts/setup.sh again");
}

void registerTensorRt(Napi::Env, Napi::Object) {}

}  // namespace inspectd
