"""Re-quantise an inspectd FP32 model several ways and measure each INT8 file against FP32 where
verdicts flip: near the threshold. Every choice here uses the TRAIN split only (calibration
images); val is only measured.

Variants: calibration method, how many train images calibrate, which layers stay float. For each:
INT8-FP32 logit difference of pred_score near the threshold (mean, std) on train and val, flips at
the shipped threshold, AUROC on val. Writes OUT/<variant>.int8.onnx and OUT/requant.json.

  python3 tools/model/requant_experiment.py --fp32 models/magnetic-tile/model.onnx \
      --spec models/magnetic-tile/model.json --data .train/magnetic-tile --out OUT
(needs onnx, onnxruntime: the GPU machine's Python; runs on its CPU)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quantize as qz  # noqa: E402

STEM = ["/trunk/trunk.0/trunk.0.0/Conv"]
DEEP = [f"/deep/deep.{i}/deep.{i}.0/Conv" for i in range(4)]
VARIANTS = {
    # name: (method, calibration images (0 = all train), extra float layers)
    "shipped-recipe": ("percentile", 256, STEM),
    "calib-all": ("percentile", 0, STEM),
    "deep-float": ("percentile", 256, STEM + DEEP),
    "deep-float-calib-all": ("percentile", 0, STEM + DEEP),
    "minmax-deep-float-calib-all": ("minmax", 0, STEM + DEEP),
    "deep-trunk5-float-calib-all": ("percentile", 0, STEM + DEEP + ["/trunk/trunk.5/trunk.5.0/Conv"]),
}


def logit(x):
    x = np.clip(np.asarray(x, np.float64), 1e-7, 1 - 1e-7)
    return np.log(x / (1 - x))


def scores(path, x):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 4
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return np.array([float(s.run(["pred_score"], {"input": x[i : i + 1]})[0].ravel()[0]) for i in range(len(x))])


def auroc(s, y):
    o = np.argsort(s, kind="mergesort")
    r = np.empty(len(s)); r[o] = np.arange(1, len(s) + 1)
    n1 = int(y.sum()); n0 = len(y) - n1
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fp32", required=True)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    a = ap.parse_args()
    spec = json.load(open(a.spec))
    inp = spec["input"]
    T = spec["thresholds"]["default"]
    os.makedirs(a.out, exist_ok=True)
    data = {}
    for split in ("train", "val"):
        d = np.load(os.path.join(a.data, f"{split}.npz"))
        u8 = d["images"] if d["images"].ndim == 4 else d["images"][:, None]
        data[split] = (u8, qz.normalise(u8, inp["scale"], inp["mean"], inp["std"]), d["labels"].astype(bool))
    ref = {k: scores(a.fp32, v[1]) for k, v in data.items()}
    rng = np.random.default_rng(1234)
    idx256 = np.sort(rng.choice(len(data["train"][0]), size=256, replace=False))
    report = {"threshold": T, "variants": {}}
    for name in a.variants.split(","):
        method, n, extra = VARIANTS[name]
        calib = data["train"][0] if n == 0 else data["train"][0][idx256]
        out = os.path.join(a.out, f"{name}.int8.onnx")
        t0 = time.time()
        info = qz.quantize(a.fp32, out, calib, inp, method, extra)
        r = {"method": method, "calib_images": int(len(calib)), "float_extra": extra, "quantise_s": round(time.time() - t0, 1)}
        for split in ("train", "val"):
            s8 = scores(out, data[split][1]); s32 = ref[split]; y = data[split][2]
            d = logit(s8) - logit(s32)
            near = np.abs(logit(s32) - logit(T)) < 1.5
            r[split] = {
                "near_threshold": int(near.sum()),
                "logit_diff_mean": float(d[near].mean()), "logit_diff_std": float(d[near].std()),
                "logit_diff_std_all": float(d.std()),
                "flips_at_threshold": int(((s8 >= T) != (s32 >= T)).sum()), "images": int(len(y)),
                "auroc_fp32": auroc(s32, y), "auroc_int8": auroc(s8, y),
                "score_err_max": float(np.abs(s8 - s32).max()),
            }
        report["variants"][name] = r
        print(name, json.dumps(r), flush=True)
    json.dump(report, open(os.path.join(a.out, "requant.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
