# inspectd's GPU addon, built by node-gyp from scripts/setup.sh. Without the CUDA toolkit only the
# always-present part is compiled (it loads and reports what is missing); with it the CUDA parts are
# compiled in and libcudart is linked statically, so the addon still loads on a machine with no
# NVIDIA driver. TensorRT is never linked: see src/trt_library.cc.
{
  "variables": {
    "cuda_home%": "<!(sh ./detect.sh cuda)",
    "trt_include%": "<!(sh ./detect.sh trt)",
    "cuda_gencode%": "<!(sh ./detect.sh gencode)",
  },
  "targets": [
    {
      "target_name": "inspectd_gpu",
      "sources": ["src/addon.cc", "src/trt_library.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-ldl"],
      "conditions": [
        ["cuda_home!=''", {
          "sources": [
            "src/cuda_raii.cc", "src/gpu_info.cc", "src/frame_pipeline.cc", "src/preprocess_params.cc", "src/pass_through_stage.cc",
            "src/preprocess.cu",
          ],
          "include_dirs": ["<(cuda_home)/include"],
          "defines": ["INSPECTD_WITH_CUDA"],
          "libraries": ["<(cuda_home)/lib64/libcudart_static.a", "-lrt", "-lpthread"],
          "rules": [{
            "rule_name": "nvcc",
            "extension": "cu",
            "inputs": ["<(RULE_INPUT_PATH)", "src/preprocess.h", "src/preprocess_pixel.cuh", "src/preprocess_store.cuh"],
            "outputs": ["<(INTERMEDIATE_DIR)/<(RULE_INPUT_ROOT).cu.o"],
            "action": ["sh", "-c", "<(cuda_home)/bin/nvcc -std=c++17 -O3 --extended-lambda -Xcompiler -fPIC <(cuda_gencode) -c <(RULE_INPUT_PATH) -o <(INTERMEDIATE_DIR)/<(RULE_INPUT_ROOT).cu.o"],
            "message": "nvcc <(RULE_INPUT_PATH)",
            "process_outputs_as_sources": 1,
          }],
          "conditions": [
            ["trt_include!=''", {
              "sources": ["src/trt_engine.cc", "src/trt_builder.cc"],
              "include_dirs": ["<(trt_include)"],
              "defines": ["INSPECTD_WITH_TENSORRT"],
            }, {
              "sources": ["src/trt_stage_absent.cc"],
            }],
          ],
        }],
      ],
    },
  ],
}
