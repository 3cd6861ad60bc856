"""FP32 vs INT8 evaluation of an inspectd anomaly-map model on a preprocessed split.

Runs both ONNX files with onnxruntime (CPU), feeding the uint8 images normalised as model.json
says, and reports side by side: accuracy, AUROC, F1, escapes (defective passed), false rejects
(good failed) at the threshold, INT8/FP32 verdict agreement, and the per-output error of INT8
against FP32 (max and mean abs of pred_score and anomaly_map). Also the threshold rule used to
pick model.json's thresholds.default.

  python3 evaluate.py --spec models/x/model.json --data val.npz [--threshold T] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quantize import load_images, normalise  # noqa: E402


def load_split(path: str):
    d = np.load(path)
    x = d["images"]
    if x.ndim == 3:
        x = x[:, None]
    return x, d["labels"].astype(np.int64), (d["classes"] if "classes" in d else None)


def run_model(onnx_path: str, u8: np.ndarray, spec_input: dict, threads: int = 0):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    scores, maps = [], []
    for i in range(len(u8)):
        x = normalise(u8[i : i + 1], spec_input["scale"], spec_input["mean"], spec_input["std"])
        s, m = sess.run(["pred_score", "anomaly_map"], {"input": x})
        scores.append(float(s.reshape(-1)[0]))
        maps.append(m[0, 0])
    return np.array(scores, np.float64), np.stack(maps).astype(np.float32)


def auroc(scores, labels) -> float:
    pos = scores[labels == 1]
    neg = scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def at_threshold(scores, labels, t):
    pred = scores >= t
    pos = labels == 1
    tp = int((pred & pos).sum())
    fp = int((pred & ~pos).sum())
    fn = int((~pred & pos).sum())
    tn = int((~pred & ~pos).sum())
    f1 = 2 * tp / max(1, 2 * tp + fp + fn)
    return {
        "accuracy": (tp + tn) / len(labels),
        "f1": f1,
        "escapes": fn,
        "escape_rate": fn / max(1, int(pos.sum())),
        "false_rejects": fp,
        "false_reject_rate": fp / max(1, int((~pos).sum())),
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
    }


def logit(p):
    p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


THRESHOLD_RULE = (
    "chosen on val over FP32 and INT8 scores together: among thresholds with escapes <= {esc:.0%} and "
    "false rejects <= {fr:.0%} for both precisions, the one with the fewest INT8/FP32 verdict flips, then "
    "the one farthest (in logit space) from every val score of either precision; if none qualifies, the "
    "highest threshold keeping escapes <= {esc:.0%} for both"
)


ACCURACY_RULE = (
    "chosen on val over FP32 and INT8 scores together: the threshold with the highest mean accuracy of the "
    "two precisions; among equally accurate ones, the one farthest (in logit space) from every val score"
)


def choose_threshold_accuracy(score_sets, labels):
    allv = np.unique(np.concatenate([logit(s) for s in score_sets]))
    cands = np.concatenate([[allv[0] - 1.0], (allv[1:] + allv[:-1]) / 2, [allv[-1] + 1.0]])
    best, key = None, None
    for lt in cands:
        t = 1 / (1 + math.exp(-lt))
        acc = np.mean([((s >= t) == (labels == 1)).mean() for s in score_sets])
        margin = float(np.min(np.abs(allv - lt)))
        k = (round(float(acc), 9), margin)
        if key is None or k > key:
            best, key = t, k
    return float(best), key[1], True


def choose_threshold(score_sets, labels, max_escape=0.02, max_fr=0.10, rule="escape"):
    """score_sets: list of score arrays (FP32, INT8) on the same images."""
    if rule == "accuracy":
        return choose_threshold_accuracy(score_sets, labels)
    allv = np.unique(np.concatenate([logit(s) for s in score_sets]))
    cands = np.concatenate([[allv[0] - 1.0], (allv[1:] + allv[:-1]) / 2, [allv[-1] + 1.0]])
    best, best_margin, best_key = None, -1.0, None
    fallback = None
    for lt in cands:
        t = 1 / (1 + math.exp(-lt))
        rs = [at_threshold(s, labels, t) for s in score_sets]
        esc_ok = all(r["escape_rate"] <= max_escape for r in rs)
        if esc_ok:
            fallback = t  # candidates ascend: the last one with escapes ok is the highest
        if esc_ok and all(r["false_reject_rate"] <= max_fr for r in rs):
            margin = float(np.min(np.abs(allv - lt)))
            flips = int(sum(((s >= t) != (score_sets[0] >= t)).sum() for s in score_sets[1:]))
            key = (-flips, margin)
            if best is None or key > best_key:
                best, best_key, best_margin = t, key, margin
    if best is not None:
        return float(best), best_margin, True
    return float(fallback if fallback is not None else 0.5), 0.0, False


def compare(fp32_scores, fp32_maps, int8_scores, int8_maps, labels, t, pixel_t=0.5):
    r = {"threshold": t}
    for name, s in (("fp32", fp32_scores), ("int8", int8_scores)):
        r[name] = {"auroc": auroc(s, labels), **at_threshold(s, labels, t)}
    v32 = fp32_scores >= t
    v8 = int8_scores >= t
    r["verdict_agreement"] = float((v32 == v8).mean())
    r["verdict_flips"] = int((v32 != v8).sum())
    r["auroc_drop"] = r["fp32"]["auroc"] - r["int8"]["auroc"]
    ds = np.abs(fp32_scores - int8_scores)
    dm = np.abs(fp32_maps - int8_maps)
    r["pred_score_err"] = {"max": float(ds.max()), "mean": float(ds.mean())}
    r["anomaly_map_err"] = {"max": float(dm.max()), "mean": float(dm.mean())}
    r["map_cell_agreement@pixelThreshold"] = float(((fp32_maps >= pixel_t) == (int8_maps >= pixel_t)).mean())
    r["ranges"] = {
        "fp32_score": [float(fp32_scores.min()), float(fp32_scores.max())],
        "int8_score": [float(int8_scores.min()), float(int8_scores.max())],
        "fp32_map": [float(fp32_maps.min()), float(fp32_maps.max())],
        "int8_map": [float(int8_maps.min()), float(int8_maps.max())],
    }
    return r


def per_class(scores, labels, classes, t):
    if classes is None:
        return {}
    out = {}
    for c in sorted(set(classes.tolist())):
        sel = classes == c
        out[c] = {"n": int(sel.sum()), "failed": int((scores[sel] >= t).sum())}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True, help="model.json (files, input, thresholds)")
    ap.add_argument("--data", required=True, help="npz split: uint8 images + labels (+ classes)")
    ap.add_argument("--threshold", type=float, default=None, help="default: model.json thresholds.default")
    ap.add_argument("--json", default=None)
    ap.add_argument("--extra-eval", action="append", default=[], help="name=path.npz: also report on this split")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    spec = json.load(open(a.spec))
    base = os.path.dirname(os.path.abspath(a.spec))
    x, y, classes = load_split(a.data)
    f32, f8 = os.path.join(base, spec["files"]["fp32"]), os.path.join(base, spec["files"]["int8"])
    s32, m32 = run_model(f32, x, spec["input"], a.threads)
    s8, m8 = run_model(f8, x, spec["input"], a.threads)
    t = a.threshold if a.threshold is not None else spec["thresholds"]["default"]
    pt = spec["decoder"].get("pixelThreshold", 0.5)
    r = compare(s32, m32, s8, m8, y, t, pt)
    r["images"] = int(len(y))
    r["per_class_fp32"] = per_class(s32, y, classes, t)
    r["per_class_int8"] = per_class(s8, y, classes, t)
    for item in a.extra_eval:
        ename, epath = item.split("=", 1)
        xe, ye, _ = load_split(epath)
        e32, em32 = run_model(f32, xe, spec["input"], a.threads)
        e8, em8 = run_model(f8, xe, spec["input"], a.threads)
        r[ename] = compare(e32, em32, e8, em8, ye, t, pt)
    print(json.dumps({k: v for k, v in r.items() if not k.startswith("per_class")}, indent=1))
    if a.json:
        json.dump(r, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
