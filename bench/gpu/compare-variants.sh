#!/usr/bin/env bash
# Kernel versions side by side on the GPU machine (same carry as run-on-gpu-machine.sh): for each
# INSPECTD_PREPROCESS_VARIANT, the accuracy test against the CPU references, then the benchmark.
# Kept with the commit that had the variant knob; the launcher keeps only the winners afterwards.
set -uo pipefail
OUT="${OUT:-/tmp/inspectd-gpu-out}"
mkdir -p "$OUT" /tmp/inspectd-node
xz -dc .carry/node.xz >/tmp/inspectd-node/node && chmod +x /tmp/inspectd-node/node
export PATH="/tmp/inspectd-node:$PATH"
[ -d node_modules/vitest ] || tar -xJf .carry/node_modules.tar.xz
[ -f .carry/gpu-refs/refs.bin ] || xz -dk .carry/gpu-refs/refs.bin.xz
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$OUT/env.txt"
addon=/tmp/inspectd-gpu-here.node
if INSPECTD_CUDA_ARCHS=90 native/build-without-gyp.sh "$addon" .carry/node-api .carry/node-api/addon-api >>"$OUT/env.txt" 2>&1; then
  echo "built here" | tee -a "$OUT/env.txt"
else
  addon="$PWD/.carry/inspectd_gpu.node"; echo "BUILD HERE FAILED; using the carried build" | tee -a "$OUT/env.txt"
fi
export INSPECTD_GPU_ADDON="$addon"
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw --format=csv,noheader -lms 50 >"$OUT/clocks.txt" 2>&1 &
clocks=$!
for v in ${VARIANTS:-default bin4x2,lin2 bin1,lin4 lin1o}; do
  export INSPECTD_PREPROCESS_VARIANT="$v"
  echo "=== variant $v" | tee -a "$OUT/variants.txt"
  if [ -n "${SKIP_ACCURACY:-}" ]; then
    echo "accuracy: not run (SKIP_ACCURACY)" | tee -a "$OUT/variants.txt"
  elif INSPECTD_GPU_TESTS=1 INSPECTD_GPU_REFS=.carry/gpu-refs node node_modules/vitest/vitest.mjs run test/gpu/preprocess.test.ts >"$OUT/acc-$v.txt" 2>&1; then
    echo "accuracy: pass" | tee -a "$OUT/variants.txt"
  else
    echo "accuracy: FAIL" | tee -a "$OUT/variants.txt"; grep -m5 -E 'AssertionError|expected|Error' "$OUT/acc-$v.txt" | tee -a "$OUT/variants.txt"
  fi
  date -u +%T.%N | tee -a "$OUT/variants.txt"
  node dist/bench/gpu/preprocess-bench.js --frames 200 2>&1 | tee -a "$OUT/variants.txt"
  date -u +%T.%N | tee -a "$OUT/variants.txt"
done
kill "$clocks"
rm -f "$OUT"/acc-*.txt
