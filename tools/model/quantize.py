"""Static post-training INT8 quantisation of an inspectd FP32 model into explicit QDQ form.

Signed INT8 activations and weights, symmetric (zero point 0), per-channel weights: the form that
TensorRT 10 and 11 build INT8 engines from. The calibration tensors are the TRAIN split's images as
the daemon preprocessed them (uint8, exported by tools/model/export-dataset.ts or synth-dataset.ts),
normalised exactly as model.json states.

The head's float tail (global pools, concat, the score Gemm, the map's final 1x1 Conv and both
Sigmoids) stays in float: those tensors are tiny, and quantising the logits right before the
sigmoid is what flips verdicts near the threshold.

  python3 quantize.py --fp32 model.onnx --calib train.npz|calib.npy --spec model.json --out model.int8.onnx \
      --method minmax|entropy|percentile [--n 256] [--exclude-extra name,name]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

import importlib

_ortq = importlib.import_module("onnxruntime.quantization.quantize")

METHODS = {
    "minmax": CalibrationMethod.MinMax,
    "entropy": CalibrationMethod.Entropy,
    "percentile": CalibrationMethod.Percentile,  # 99.999th percentile of |x|
    "percentile9999": CalibrationMethod.Percentile,  # 99.99th
}
PERCENTILES = {"percentile": 99.999, "percentile9999": 99.99}

# quantize_static() cannot pass the histogram size to the entropy calibrator, whose default
# (128 bins, 128 quantised bins) leaves a single candidate threshold: the min-max range. Give it
# TensorRT's setting (2048 bins, searched down to the 255 levels of int8) instead.
_orig_create_calibrator = _ortq.create_calibrator


def _create_calibrator(*args, **kwargs):
    if kwargs.get("calibrate_method") == CalibrationMethod.Entropy:
        eo = dict(kwargs.get("extra_options") or {})
        eo.setdefault("num_bins", 2048)
        eo.setdefault("num_quantized_bins", 255)
        kwargs["extra_options"] = eo
    return _orig_create_calibrator(*args, **kwargs)


_ortq.create_calibrator = _create_calibrator


def normalise(u8: np.ndarray, scale: float, mean, std) -> np.ndarray:
    """u8 [N,C,H,W] -> float32 (x*scale - mean[c]) / std[c], as the daemon does."""
    x = u8.astype(np.float32) * np.float32(scale)
    m = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    s = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
    return ((x - m) / s).astype(np.float32)


def load_images(npz_path: str) -> np.ndarray:
    """A .npz with uint8 'images' (export-dataset.ts + pack.py), or a .npy of float32 tensors
    from `inspectd tensors` (e.g. on frames `inspectd capture` took from the line)."""
    if npz_path.endswith(".npy"):
        return np.load(npz_path)
    d = np.load(npz_path)
    x = d["images"]
    if x.ndim == 3:
        x = x[:, None]
    return x


class Reader(CalibrationDataReader):
    """uint8 images, normalised here; or float32 tensors `inspectd tensors` wrote (already the
    daemon's tensors: passed as they are). `input_name` is the model's input (model.json input.name)."""

    def __init__(self, u8: np.ndarray, scale, mean, std, input_name: str = "input"):
        self.u8 = u8
        self.scale, self.mean, self.std = scale, mean, std
        self.input_name = input_name
        self.i = 0

    def get_next(self):
        if self.i >= len(self.u8):
            return None
        batch = self.u8[self.i : self.i + 1]
        x = batch.astype(np.float32) if batch.dtype == np.float32 else normalise(batch, self.scale, self.mean, self.std)
        self.i += 1
        return {self.input_name: x}

    def rewind(self):
        self.i = 0


def float_tail_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes kept in float: the head after the last trunk/deep ReLUs."""
    g = model.graph
    producers = {o: n for n in g.node for o in n.output}
    keep = set()
    for n in g.node:
        if n.op_type in ("Sigmoid", "Gemm", "Concat", "Flatten", "GlobalAveragePool", "GlobalMaxPool", "ReduceMax", "MaxPool"):
            keep.add(n.name)
    # the conv whose output feeds the map sigmoid (the map logits); in an ensemble (ensemble.py) the
    # sigmoid reads the mean of the members' logits: the Sum/Mul that average them and every
    # member's last map conv stay float too
    out_names = {o.name for o in g.output}

    def back(tensor: str):
        p = producers.get(tensor)
        if p is None:
            return
        if p.op_type == "Conv":
            keep.add(p.name)
        elif p.op_type in ("Sum", "Mul", "Add"):
            keep.add(p.name)
            for t in p.input:
                back(t)

    for n in g.node:
        if n.op_type == "Sigmoid" and n.output[0] in out_names:
            back(n.input[0])
    return sorted(keep)


def quantize(fp32: str, out: str, u8: np.ndarray, spec_input: dict, method: str, exclude_extra=(), reduce_range: bool = True) -> dict:
    """reduce_range: 7-bit weights ([-64, 64], still int8, symmetric, per channel). x86 CPUs without
    VNNI (AVX2, AVX-512F) multiply u8 x s8 pairs with vpmaddubsw, whose int16 pair sums saturate
    for full-range weights: the same INT8 file then gives different (wrong) results there than on
    VNNI CPUs or GPUs. With 7-bit weights no pair sum can saturate (2 x 255 x 64 < 32768), so the
    file computes the same everywhere."""
    with tempfile.TemporaryDirectory() as td:
        pre = os.path.join(td, "pre.onnx")
        # shape inference + ORT graph cleanup (constant folding, Identity removal); BN is already folded
        quant_pre_process(fp32, pre, skip_symbolic_shape=True)
        m = onnx.load(pre)
        excl = float_tail_nodes(m) + list(exclude_extra)
        extra = {
            "ActivationSymmetric": True,
            "WeightSymmetric": True,
        }
        if method in PERCENTILES:
            extra["CalibPercentile"] = PERCENTILES[method]
        reader = Reader(u8, spec_input["scale"], spec_input["mean"], spec_input["std"], spec_input.get("name", "input"))
        quantize_static(
            pre,
            out,
            reader,
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=reduce_range,
            calibrate_method=METHODS[method],
            nodes_to_exclude=excl,
            extra_options=extra,
        )
    return {"method": method, "excluded": excl, "calib_images": int(len(u8)), "reduce_range": reduce_range}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fp32", required=True)
    ap.add_argument("--calib", required=True, help="npz with uint8 'images' (train split)")
    ap.add_argument("--spec", required=True, help="model.json (for input scale/mean/std)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--method", default="minmax", choices=sorted(METHODS))
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--exclude-extra", default="")
    a = ap.parse_args()
    spec = json.load(open(a.spec))
    u8 = load_images(a.calib)
    rng = np.random.default_rng(a.seed)
    idx = np.sort(rng.choice(len(u8), size=min(a.n, len(u8)), replace=False))
    info = quantize(a.fp32, a.out, u8[idx], spec["input"], a.method, [e for e in a.exclude_extra.split(",") if e])
    print(json.dumps(info))


if __name__ == "__main__":
    main()

