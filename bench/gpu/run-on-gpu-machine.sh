#!/usr/bin/env bash
# The whole GPU-machine check in one script (that machine has CUDA 13 and a compiler, no Node,
# no network, no TensorRT). Run from the repository root with what bench/gpu/prepare-carry.sh made
# under .carry/ and the dev machine's dist/ and native/build/Release/inspectd_gpu.node:
#   1. unpacks Node and the test runner; builds the addon here with nvcc (native/build-without-gyp.sh)
#   2. INSPECTD_GPU_TESTS=1 vitest run test/gpu (CUDA preprocessing vs the CPU path, the chain's
#      verdicts on the GPU path vs its CPU path, the async path over 100,000 frames, leak cycles,
#      worker clean-up, TensorRT-not-found), against that build; the accuracy test again against a
#      deliberately broken kernel
#   3. the preprocessing / transfer benchmark (bench/gpu/preprocess-bench.ts)
#   4. Nsight Compute's speed-of-light of the default kernel at 2448x2048, where ncu works
#      (INSPECTD_SKIP_NCU=1: not run)
#   5. INSPECTD_VARIANTS="0 1 ...": for a tree whose kernels read a benchmark knob
#      INSPECTD_PREPROCESS_VARIANT, each value through the accuracy test, then the benchmark (this
#      tree has none: the knobs of the 2026-12-02 runs are in commit 95a49dd, in gpu4's "Binned
#      Bayer kernel: 8 pixels a thread ...", 801d48d when written, in gpu5's "Binned Bayer kernel:
#      the frame's ring in blocks of its own ..." and in gpu6's "Binned Bayer kernel: benchmark-only
#      candidates ... for the gpu6 run ..."); INSPECTD_DIAG_VARIANTS: the benchmark alone
#      (diagnostics with wrong values by design); INSPECTD_NCU_VARIANTS: ncu on each, 2448x2048 ->
#      1224x1024; INSPECTD_MUTANTS / INSPECTD_MUTANT_VARIANTS: which mutants, and the mutant's test
#      again under each variant; INSPECTD_SKIP_BENCH: no final benchmark; INSPECTD_VARIANTS_ACCURACY_ONLY:
#      INSPECTD_VARIANTS through the accuracy test alone (time them in INSPECTD_DIAG_VARIANTS, interleaved)
#   INSPECTD_PREBUILT=DIR: the addon built on the dev machine (DIR/inspectd_gpu.node, nvcc 13, sm_90)
#      and its mutants (DIR/mutant-NAME.node), so the device call builds nothing
# Results go to $OUT (env.txt, tests.txt, bench.txt, results.json, ncu.txt, variants.txt).
# The chain's verdict test runs the model in that machine's Python onnxruntime (bench/gpu/ort-peer.py):
# onnxruntime-node's library does not fit in one device call's 64 MiB beside Node and the references.
set -uo pipefail
OUT="${OUT:-/tmp/inspectd-gpu-out}"
mkdir -p "$OUT"
step() { printf '\n== %s\n' "$*"; }

step "machine"
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem,pstate --format=csv
  nvcc --version | tail -2
  uname -r
  ldconfig -p | grep -E 'libnvinfer|libnvonnxparser' || echo "no libnvinfer / libnvonnxparser on this machine"
  python3 -c "import onnxruntime as o; print('python onnxruntime', o.__version__, o.get_available_providers())" || echo "no python onnxruntime"
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

step "node and test runner"
mkdir -p /tmp/inspectd-node
xz -dc .carry/node.xz >/tmp/inspectd-node/node && chmod +x /tmp/inspectd-node/node
export PATH="/tmp/inspectd-node:$PATH"
node --version
[ -d node_modules/vitest ] || tar -xJf .carry/node_modules.tar.xz
[ -f .carry/gpu-refs/refs.bin ] || [ ! -f .carry/gpu-refs/refs.bin.xz ] || xz -dk .carry/gpu-refs/refs.bin.xz
[ -f .carry/gpu-refs/verdicts.bin ] || [ ! -f .carry/gpu-refs/verdicts.bin.xz ] || xz -dk .carry/gpu-refs/verdicts.bin.xz

step "build the addon here (nvcc, sm_90)"
addon=/tmp/inspectd-gpu-here.node
if [ -n "${INSPECTD_PREBUILT:-}" ] && [ -f "$INSPECTD_PREBUILT/inspectd_gpu.node" ]; then
  addon="$PWD/$INSPECTD_PREBUILT/inspectd_gpu.node"
  echo "not built here: the dev machine's build $addon (INSPECTD_PREBUILT)" | tee -a "$OUT/env.txt"
elif INSPECTD_CUDA_ARCHS=90 native/build-without-gyp.sh "$addon" .carry/node-api .carry/node-api/addon-api >>"$OUT/env.txt" 2>&1; then
  echo "built on this machine: $addon" | tee -a "$OUT/env.txt"
else
  addon="$PWD/native/build/Release/inspectd_gpu.node"
  echo "BUILD HERE FAILED (see env.txt); using the dev machine's build $addon" | tee -a "$OUT/env.txt"
fi
export INSPECTD_GPU_ADDON="$addon"
node -e "const a=require(process.env.INSPECTD_GPU_ADDON); console.log(JSON.stringify({build:a.buildInfo(), devices:a.devices(), tensorRt:a.tensorRt()}, null, 1))" | tee -a "$OUT/env.txt"

step "GPU tests"
mkdir -p "$OUT/json"
# INSPECTD_GPU_TEST_FILES: a subset (the chain's verdict test needs verdicts.bin and the COCO model,
# which do not always fit one call's carry beside Node).
INSPECTD_GPU_TESTS=1 INSPECTD_GPU_OUT="$OUT/json" INSPECTD_GPU_REFS=.carry/gpu-refs \
  node node_modules/vitest/vitest.mjs run ${INSPECTD_GPU_TEST_FILES:-test/gpu} --reporter=verbose 2>&1 | tee "$OUT/tests.txt"
tests_rc=${PIPESTATUS[0]}

step "mutation checks: the accuracy test must fail on a broken kernel"
# 1. OpenCV 3's 14-bit BGR->GRAY weights instead of OpenCV 4's: off by one grey level on ~0.3% of
#    pixels (every path). 2. The binned Bayer kernel's red mean rounded down instead of to nearest
#    (that kernel alone: the 640x512 Bayer -> RGB half-size reference cases reach it).
mutate() { # NAME FILE FROM TO
  # INSPECTD_MUTANTS: only these (names); INSPECTD_MUTANT_VARIANTS: the same mutant's test again with
  # each of these INSPECTD_PREPROCESS_VARIANT values (kernels behind the knob that share the code).
  [ -z "${INSPECTD_MUTANTS:-}" ] || [[ " $INSPECTD_MUTANTS " == *" $1 "* ]] || return 0
  local dir="/tmp/inspectd-mutant-$1" prebuilt="${INSPECTD_PREBUILT:+$PWD/$INSPECTD_PREBUILT/mutant-$1.node}"
  rm -rf "$dir" "$dir.node" && cp -r native "$dir" && rm -rf "$dir/build"
  sed -i "s/$3/$4/" "$dir/src/$2"
  if [ -n "$prebuilt" ] && [ -f "$prebuilt" ]; then cp "$prebuilt" "$dir.node"; fi
  if cmp -s "native/src/$2" "$dir/src/$2"; then
    echo "MUTATION $1 NOT APPLIED" | tee -a "$OUT/tests.txt"; tests_rc=1
  elif { [ -f "$dir.node" ] || INSPECTD_CUDA_ARCHS=90 "$dir/build-without-gyp.sh" "$dir.node" .carry/node-api .carry/node-api/addon-api >/dev/null 2>&1; } &&
    INSPECTD_GPU_ADDON="$dir.node" INSPECTD_GPU_TESTS=1 INSPECTD_GPU_REFS=.carry/gpu-refs \
      node node_modules/vitest/vitest.mjs run test/gpu/preprocess.test.ts >"$dir.txt" 2>&1; then
    echo "MUTATION CHECK $1 FAILED: the accuracy test passed on the broken kernel" | tee -a "$OUT/tests.txt"; tests_rc=1
  else
    echo "mutation $1: accuracy test failed on the broken kernel, as it must:" | tee -a "$OUT/tests.txt"
    grep -m2 -E 'AssertionError' "$dir.txt" | tee -a "$OUT/tests.txt"
    for v in ${INSPECTD_MUTANT_VARIANTS:-}; do
      if INSPECTD_PREPROCESS_VARIANT="$v" INSPECTD_GPU_ADDON="$dir.node" INSPECTD_GPU_TESTS=1 INSPECTD_GPU_REFS=.carry/gpu-refs \
        node node_modules/vitest/vitest.mjs run test/gpu/preprocess.test.ts >"$dir-$v.txt" 2>&1; then
        echo "MUTATION CHECK $1 FAILED with variant $v: the accuracy test passed" | tee -a "$OUT/tests.txt"; tests_rc=1
      else
        echo "mutation $1, variant $v: accuracy test failed, as it must: $(grep -m1 -E 'AssertionError' "$dir-$v.txt")" | tee -a "$OUT/tests.txt"
      fi
    done
  fi
}
mutate grey-weights preprocess_pixel.cuh '(b \* 3735 + g \* 19235 + r \* 9798 + (1 << 14)) >> 15' '(b * 1868 + g * 9617 + r * 4899 + (1 << 13)) >> 14'
mutate binned-red-rounding preprocess.cu 'const int r = (rR + rG1 + rG2 + rB + 2) >> 2' 'const int r = (rR + rG1 + rG2 + rB + 1) >> 2'

if [ -n "${INSPECTD_VARIANTS:-}" ]; then
  step "kernel variants (INSPECTD_VARIANTS: VARIANT ...): accuracy test, then the benchmark"
  if command -v cuobjdump >/dev/null; then
    # Instructions per binned kernel (SASS lines), from this build.
    cuobjdump -sass "$addon" 2>/dev/null | awk '/Function :/{f=$3} /^ +\/\*[0-9a-f]+\*\//{n[f]++} END{for(k in n) print n[k], k}' | grep bayerBin2 | sort -k2 | tee "$OUT/variants.txt"
  fi
  for v in $INSPECTD_VARIANTS; do
    echo "=== variant $v" | tee -a "$OUT/variants.txt"
    if INSPECTD_PREPROCESS_VARIANT="$v" INSPECTD_GPU_TESTS=1 INSPECTD_GPU_REFS=.carry/gpu-refs \
      node node_modules/vitest/vitest.mjs run test/gpu/preprocess.test.ts >/tmp/inspectd-acc.txt 2>&1; then
      echo "accuracy: pass" | tee -a "$OUT/variants.txt"
    else
      echo "accuracy: FAIL" | tee -a "$OUT/variants.txt"; grep -m5 -E 'AssertionError|expected' /tmp/inspectd-acc.txt | tee -a "$OUT/variants.txt"
    fi
    [ -n "${INSPECTD_VARIANTS_ACCURACY_ONLY:-}" ] ||
      INSPECTD_PREPROCESS_VARIANT="$v" node dist/bench/gpu/preprocess-bench.js --frames 200 --only 2448x2048 2>&1 | tee -a "$OUT/variants.txt"
  done
fi

if [ -n "${INSPECTD_DIAG_VARIANTS:-}" ]; then
  step "diagnostic variants (INSPECTD_DIAG_VARIANTS, wrong values by design or already tested): the benchmark alone, float32"
  for v in $INSPECTD_DIAG_VARIANTS; do
    echo "=== variant $v" | tee -a "$OUT/variants.txt"
    INSPECTD_PREPROCESS_VARIANT="$v" node dist/bench/gpu/preprocess-bench.js --frames 100 --only 'every pixel read' --exclude float16 2>&1 | grep -v '^case |' | tee -a "$OUT/variants.txt"
  done
fi

if [ -n "${INSPECTD_SKIP_BENCH:-}" ]; then step "benchmark: not run (INSPECTD_SKIP_BENCH)"; else
step "benchmark"
# The SM clock every 50 ms while it runs (the kernel is timed at whatever clock the load gives it).
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw --format=csv,noheader -lms 50 >/tmp/inspectd-clocks.txt 2>&1 &
clocks=$!
node dist/bench/gpu/preprocess-bench.js --frames 1000 --json "$OUT/json/bench.json" 2>&1 | tee "$OUT/bench.txt"
kill "$clocks"
echo "SM clock samples during the benchmark (count, MHz):" | tee -a "$OUT/bench.txt"
awk -F', ' '{print $2}' /tmp/inspectd-clocks.txt | sort | uniq -c | sort -rn | head -5 | tee -a "$OUT/bench.txt"
fi

step "Nsight Compute: the default kernel at 2448x2048 (speed of light, memory, occupancy)"
if [ -n "${INSPECTD_SKIP_NCU:-}" ]; then
  echo "not run (INSPECTD_SKIP_NCU: device time)" | tee "$OUT/ncu.txt"
elif command -v ncu >/dev/null; then
  : >"$OUT/ncu.txt"
  # dram__bytes_*: what the kernel truly moves (caches flushed before each profiled launch), the
  # check on the benchmark's own count (bench/gpu/kernel-traffic.ts).
  for only in '1920x1200 BGR8' '2448x2048 Bayer RG8 -> RGB 640x640 letterbox' '2448x2048 Bayer RG8 -> RGB 1224x1024'; do
    echo "=== case: $only (float32)" >>"$OUT/ncu.txt"
    timeout 90 ncu --clock-control none --target-processes all --kernel-name regex:'bayerBin2|preprocessKernel' --launch-skip 60 --launch-count 2 \
      --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats \
      --metrics dram__bytes_read.sum,dram__bytes_write.sum \
      node dist/bench/gpu/preprocess-bench.js --frames 20 --only "$only" >>"$OUT/ncu.txt" 2>&1 || echo "ncu exit $?" >>"$OUT/ncu.txt"
  done
  grep -E '=== case|bayerBin2|preprocessKernel|dram__bytes|Memory Throughput|DRAM Throughput|Duration|Compute \(SM\) Throughput|Achieved Occupancy|Registers Per' "$OUT/ncu.txt" | head -80
else
  echo "no ncu on this machine" | tee "$OUT/ncu.txt"
fi
if [ -n "${INSPECTD_NCU_VARIANTS:-}" ] && command -v ncu >/dev/null; then
  step "Nsight Compute: INSPECTD_NCU_VARIANTS at 2448x2048 -> 1224x1024 float32 (throughput, stall reasons)"
  for v in $INSPECTD_NCU_VARIANTS; do
    echo "=== variant $v" >>"$OUT/ncu.txt"
    INSPECTD_PREPROCESS_VARIANT="$v" timeout 75 ncu --clock-control none --target-processes all --kernel-name regex:'bayerBin2|trafficKernel' --launch-skip 60 --launch-count 1 \
      --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats --section WarpStateStats --section SchedulerStats \
      --metrics dram__bytes_read.sum,dram__bytes_write.sum,lts__t_sectors_srcunit_tex_op_read.sum,lts__t_sectors_srcunit_tex_op_write.sum \
      node dist/bench/gpu/preprocess-bench.js --frames 20 --only 'every pixel read' --exclude float16 >>"$OUT/ncu.txt" 2>&1 || echo "ncu exit $?" >>"$OUT/ncu.txt"
  done
  grep -E '=== variant|dram__bytes|lts__t_sectors|DRAM Throughput|Duration|Achieved Occupancy|Stall|Warp Cycles Per Issued|Issued Warp' "$OUT/ncu.txt" | head -90
fi

# At most 8 files come back: fold the JSON results into one.
node -e "
const fs=require('fs'), d=process.argv[1], r={};
for (const f of fs.readdirSync(d)) r[f.replace(/\.json$/,'')]=JSON.parse(fs.readFileSync(d+'/'+f,'utf8'));
fs.writeFileSync(process.argv[2], JSON.stringify(r, null, 1));" "$OUT/json" "$OUT/results.json" && rm -rf "$OUT/json"
echo "tests exit status: $tests_rc" | tee -a "$OUT/tests.txt"
exit "$tests_rc"
