#!/usr/bin/env bash
# issue 13 (import2): re-calibrate magnetic-tile 1.1.0's INT8 file on the fit tiles (608, u8, the
# daemon's preprocessing) with the shipped recipe (tools/model/quantize.py); measured on the CPU box.
set -u
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../.."
python3 -c 'import onnx, onnxruntime, numpy; print("onnx", onnx.__version__, "ort", onnxruntime.__version__, "numpy", numpy.__version__)'
lscpu | grep -E 'Model name|^CPU\(s\)'
q() { # name method n
  local t0=$SECONDS
  timeout 330 python3 tools/model/quantize.py --fp32 models/magnetic-tile/model.onnx --calib .train/import2/fit-u8.npy \
    --spec models/magnetic-tile/model.json --out "$OUT/$1.int8.onnx" --method "$2" --n "$3" --seed 1234 > "$OUT/$1.log" 2>&1
  echo "$1 rc=$? $((SECONDS - t0)) s"
}
q p256 percentile 256 &
q p608 percentile 608 &
q p9999-608 percentile9999 608 &
wait
ls -la "$OUT"
tail -n 3 "$OUT"/*.log
