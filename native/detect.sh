#!/bin/sh
# What binding.gyp compiles in, decided once per build (node-gyp runs this through <!(...)).
#   detect.sh cuda  -> the CUDA toolkit's folder when nvcc is there, else nothing (CPU-only build)
#   detect.sh gencode -> nvcc's -gencode flags
#   detect.sh trt   -> the folder holding NvInfer.h + NvOnnxParser.h, else nothing (no TensorRT code)
# INSPECTD_CUDA_HOME / INSPECTD_TENSORRT_INCLUDE override the search; set either to "none" to
# build without that part (CI uses this to check the CPU-only build on a machine with nvcc).
case "$1" in
  cuda)
    if [ "${INSPECTD_CUDA_HOME:-}" = none ]; then exit 0; fi
    for d in "${INSPECTD_CUDA_HOME:-}" "${CUDA_HOME:-}" /usr/local/cuda; do
      if [ -n "$d" ] && [ -x "$d/bin/nvcc" ] && [ -f "$d/lib64/libcudart_static.a" ]; then printf '%s' "$d"; exit 0; fi
    done ;;
  trt)
    if [ "${INSPECTD_TENSORRT_INCLUDE:-}" = none ]; then exit 0; fi
    for d in "${INSPECTD_TENSORRT_INCLUDE:-}" /usr/include/x86_64-linux-gnu /usr/include/aarch64-linux-gnu /usr/local/tensorrt/include /usr/include; do
      if [ -n "$d" ] && [ -f "$d/NvInfer.h" ] && [ -f "$d/NvOnnxParser.h" ]; then printf '%s' "$d"; exit 0; fi
    done ;;
  gencode)
    # Machine code for the GPUs inspectd targets (Turing T4 .. Hopper; 87 = Jetson Orin) plus PTX
    # for newer ones. INSPECTD_CUDA_ARCHS="90" (space-separated) narrows it for a quick build.
    archs="${INSPECTD_CUDA_ARCHS:-75 80 86 87 89 90}"
    last=""
    for a in $archs; do printf -- '-gencode=arch=compute_%s,code=sm_%s ' "$a" "$a"; last=$a; done
    printf -- '-gencode=arch=compute_%s,code=compute_%s' "$last" "$last" ;;
  *) echo "usage: detect.sh cuda|trt|gencode" >&2; exit 64 ;;
esac
