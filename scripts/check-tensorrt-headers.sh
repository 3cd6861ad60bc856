#!/usr/bin/env bash
# Compile-checks the addon's TensorRT code against one release's real headers, without TensorRT's
# libraries (which cannot be installed everywhere):
#   scripts/check-tensorrt-headers.sh DIR     DIR holds NvInfer.h, NvInferVersion.h and NvOnnxParser.h
# It compiles native/src/trt_*.cc with -Werror, then checks that the objects need no TensorRT symbol
# at link time (the addon opens TensorRT with dlopen; a direct reference would make the addon
# unloadable on machines without it). Exit 0: checked; 1: failed; 2: not run (no headers), said so.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-}"
if [ -z "$dir" ] || [ ! -f "$dir/NvInfer.h" ] || [ ! -f "$dir/NvOnnxParser.h" ]; then
  echo "check-tensorrt-headers: NOT RUN: no NvInfer.h + NvOnnxParser.h in '${dir}'" >&2
  exit 2
fi
cuda="$(sh native/detect.sh cuda)"
cuda_inc="${cuda:+$cuda/include}"
if [ -z "$cuda_inc" ]; then
  echo "check-tensorrt-headers: NOT RUN: the TensorRT code needs the CUDA toolkit's headers (cuda_runtime_api.h)" >&2
  exit 2
fi
napi="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node"
version="$(sed -n 's/^#define \(NV_TENSORRT_MAJOR\|NV_TENSORRT_MINOR\|NV_TENSORRT_PATCH\|TRT_MAJOR_ENTERPRISE\|TRT_MINOR_ENTERPRISE\|TRT_PATCH_ENTERPRISE\) \([0-9][0-9]*\).*/\2/p' "$dir/NvInferVersion.h" | head -3 | paste -sd.)"
obj="$(mktemp -d)"
trap 'rm -rf "$obj"' EXIT
for src in trt_engine trt_builder trt_library; do
  g++ -std=c++17 -O1 -fPIC -fexceptions -Wall -Wextra -Werror -Wno-unused-parameter \
    -DINSPECTD_WITH_TENSORRT -DINSPECTD_WITH_CUDA -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED \
    -I node_modules/node-addon-api -I "$napi" -isystem "$cuda_inc" -isystem "$dir" \
    -c "native/src/$src.cc" -o "$obj/$src.o"
done
linked="$(nm -u "$obj"/*.o | grep -E 'nvinfer|nvonnxparser|_INTERNAL|getInferLibVersion' || true)"
if [ -n "$linked" ]; then
  echo "check-tensorrt-headers: FAILED: the TensorRT code references TensorRT symbols at link time:" >&2
  echo "$linked" >&2
  exit 1
fi
echo "check-tensorrt-headers: OK: native/src/trt_{engine,builder,library}.cc compile against TensorRT ${version:-?} headers in $dir, no link-time TensorRT symbols"
