#!/usr/bin/env bash
# Builds the addon with g++ and nvcc alone, for a machine that has a compiler and the CUDA toolkit
# but no node-gyp (the GPU machine: no Node install, no network). Same sources and flags as
# binding.gyp's CUDA build; setup.sh uses node-gyp.
#   native/build-without-gyp.sh OUT_FILE NODE_API_INCLUDE_DIR NODE_ADDON_API_DIR [CUDA_HOME]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$1"; napi="$2"; addon_api="$3"; cuda="${4:-$(sh "$here/detect.sh" cuda)}"
[ -n "$cuda" ] || { echo "build-without-gyp: no CUDA toolkit found" >&2; exit 1; }
trt="$(sh "$here/detect.sh" trt)"
obj="$(mktemp -d)"
trap 'rm -rf "$obj"' EXIT
defs=(-DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED -DBUILDING_NODE_EXTENSION -DINSPECTD_WITH_CUDA)
sources=(addon trt_library cuda_raii gpu_info frame_pipeline preprocess_params pass_through_stage)
incs=(-I"$napi" -I"$addon_api" -isystem "$cuda/include")
if [ -n "$trt" ]; then defs+=(-DINSPECTD_WITH_TENSORRT); sources+=(trt_engine trt_builder); incs+=(-isystem "$trt"); else sources+=(trt_stage_absent); fi
pids=()
for s in "${sources[@]}"; do
  g++ -std=c++17 -O2 -fPIC -fexceptions -Wall -Wextra -Wno-unused-parameter "${defs[@]}" "${incs[@]}" -c "$here/src/$s.cc" -o "$obj/$s.o" &
  pids+=($!)
done
"$cuda/bin/nvcc" -std=c++17 -O3 --extended-lambda -Xcompiler -fPIC $(sh "$here/detect.sh" gencode) -c "$here/src/preprocess.cu" -o "$obj/preprocess.cu.o"
for p in "${pids[@]}"; do wait "$p"; done
mkdir -p "$(dirname "$out")"
g++ -shared -o "$out" "$obj"/*.o "$cuda/lib64/libcudart_static.a" -ldl -lrt -lpthread
echo "built $out"
