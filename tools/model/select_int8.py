"""Quantise with each calibration method, measure each against FP32 on val, keep the best, pick the
threshold, and write model.json + metrics.json.

Choice of calibration method, by measurement on val: highest INT8/FP32 verdict agreement at the
threshold chosen for that candidate, then smallest AUROC drop, then smallest mean pred_score error.
If even the best candidate agrees on < 99% of val verdicts, more of the network is kept in float
(first the stem conv, then the whole score branch) and the candidates are measured again.

  python3 select_int8.py --run out/mt --data .train/magnetic-tile --name magnetic-tile \
      --max-escape 0.02 --max-fr 0.10
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate as ev  # noqa: E402
import quantize as qz  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True, help="folder with model.onnx + train.json from train.py")
    ap.add_argument("--data", required=True, help="folder with train.npz (calibration) and val.npz")
    ap.add_argument("--name", required=True)
    ap.add_argument("--version", default="1.0.0")
    ap.add_argument("--description", default="")
    ap.add_argument("--max-escape", type=float, default=0.02)
    ap.add_argument("--max-fr", type=float, default=0.10)
    ap.add_argument("--calib", default=None, help="npz of calibration images (default: <data>/train.npz)")
    ap.add_argument("--calib-n", type=int, default=256)
    ap.add_argument("--extra-eval", action="append", default=[], help="name=path.npz: also report on this split (never used for choices)")
    ap.add_argument("--methods", default="minmax,entropy,percentile,percentile9999")
    ap.add_argument("--pixel-threshold", type=float, default=0.5)
    ap.add_argument("--rule", default="escape", choices=["escape", "accuracy"],
                    help="escape: cap escapes and false rejects (then widest margin); accuracy: best val accuracy")
    ap.add_argument("--min-agreement", type=float, default=0.99,
                    help="keep more of the network in float until INT8/FP32 val verdicts agree at least this often")
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()

    info = json.load(open(os.path.join(a.run, "train.json")))
    inp = info["input"]
    spec_input = {
        "name": "input",
        "width": inp["width"],
        "height": inp["height"],
        "colorOrder": "GRAY" if inp["channels"] == 1 else "RGB",
        "layout": "NCHW",
        "resize": "stretch",
        "scale": 1 / 255,
        "mean": [inp["mean"]] * inp["channels"] if inp["channels"] > 1 else [inp["mean"]],
        "std": [inp["std"]] * inp["channels"] if inp["channels"] > 1 else [inp["std"]],
    }
    fp32 = os.path.join(a.run, "model.onnx")
    calib_all = qz.load_images(a.calib or os.path.join(a.data, "train.npz"))
    rng = np.random.default_rng(a.seed)
    calib_idx = np.sort(rng.choice(len(calib_all), size=min(a.calib_n, len(calib_all)), replace=False))
    calib = calib_all[calib_idx]
    xv, yv, cv = ev.load_split(os.path.join(a.data, "val.npz"))
    s32, m32 = ev.run_model(fp32, xv, spec_input)

    m = onnx.load(fp32)
    convs = [n.name for n in m.graph.node if n.op_type == "Conv"]
    stem = [c for c in convs if "trunk.0" in c]
    deep = [c for c in convs if "/deep/" in c]
    exclusion_sets = [("head tail only", []), ("+ stem conv", stem), ("+ stem + score branch", stem + deep)]

    candidates = []
    chosen = None
    for label, extra in exclusion_sets:
        for method in a.methods.split(","):
            out = os.path.join(a.run, f"int8_{method}_{len(extra)}.onnx")
            t0 = time.time()
            qinfo = qz.quantize(fp32, out, calib, spec_input, method, extra)
            s8, m8 = ev.run_model(out, xv, spec_input)
            t, margin, feasible = ev.choose_threshold([s32, s8], yv, a.max_escape, a.max_fr, a.rule)
            r = ev.compare(s32, m32, s8, m8, yv, t, a.pixel_threshold)
            r.update({"method": method, "float_kept": label, "excluded": qinfo["excluded"], "margin_logit": margin,
                      "threshold_feasible": feasible, "file": out, "quant_time_s": round(time.time() - t0, 1)})
            r["val_scores_int8"] = [round(float(v), 6) for v in s8]
            candidates.append((r, s8, m8))
            print(f"[{label}] {method:10s} t={t:.4f} agree={r['verdict_agreement']:.4f} "
                  f"auroc fp32={r['fp32']['auroc']:.4f} int8={r['int8']['auroc']:.4f} "
                  f"score err max={r['pred_score_err']['max']:.4f} mean={r['pred_score_err']['mean']:.5f} "
                  f"map err max={r['anomaly_map_err']['max']:.4f} mean={r['anomaly_map_err']['mean']:.5f}", flush=True)
        group = [c for c in candidates if c[0]["float_kept"] == label]
        group.sort(key=lambda c: (-c[0]["verdict_agreement"], max(0.0, c[0]["auroc_drop"]), c[0]["pred_score_err"]["mean"]))
        best = group[0]
        if best[0]["verdict_agreement"] >= a.min_agreement and best[0]["auroc_drop"] < 0.01:
            chosen = best
            break
    if chosen is None:
        candidates.sort(key=lambda c: (-c[0]["verdict_agreement"], max(0.0, c[0]["auroc_drop"])))
        chosen = candidates[0]
        print(f"WARNING: no candidate reached {a.min_agreement:.1%} agreement and < 0.01 AUROC drop", flush=True)

    r, s8, m8 = chosen
    shutil.copyfile(r["file"], os.path.join(a.run, "model.int8.onnx"))
    t = r["threshold"]
    spec = {
        "schema": 1,
        "name": a.name,
        "version": a.version,
        "description": a.description,
        "files": {"fp32": "model.onnx", "int8": "model.int8.onnx"},
        "defaultPrecision": "int8",
        "input": spec_input,
        "decoder": {
            "type": "anomaly-map",
            "scoreOutput": "pred_score",
            "mapOutput": "anomaly_map",
            "pixelThreshold": a.pixel_threshold,
            "defectLabel": "defect",
        },
        "labels": ["defect"],
        "thresholds": {
            "default": round(t, 6),
            "perClass": {},
            "rule": ev.THRESHOLD_RULE.format(esc=a.max_escape, fr=a.max_fr) if a.rule == "escape" else ev.ACCURACY_RULE,
        },
        "scoreRange": [0, 1],
    }
    # round-trip check: the shipped threshold (rounded) gives the same verdicts as the chosen one
    t = spec["thresholds"]["default"]
    final = ev.compare(s32, m32, s8, m8, yv, t, a.pixel_threshold)
    final.update({k: r[k] for k in ("method", "float_kept", "excluded", "margin_logit", "threshold_feasible")})
    final["per_class_fp32"] = ev.per_class(s32, yv, cv, t)
    final["per_class_int8"] = ev.per_class(s8, yv, cv, t)
    json.dump(spec, open(os.path.join(a.run, "model.json"), "w"), indent=2)
    metrics = {
        "val_images": int(len(yv)),
        "val_defect": int(yv.sum()),
        "calibration": {"images": int(len(calib)), "from": a.calib or "train split", "indices_seed": a.seed},
        "chosen": final,
        "candidates": [{k: v for k, v in c[0].items() if k not in ("file",)} for c in candidates],
        "threshold_rule": a.rule,
        "val_scores": {"fp32": s32.tolist(), "int8": s8.tolist(), "labels": yv.tolist()},
    }
    for item in a.extra_eval:
        ename, epath = item.split("=", 1)
        xe, ye, ce = ev.load_split(epath)
        e32, em32 = ev.run_model(fp32, xe, spec_input)
        e8, em8 = ev.run_model(os.path.join(a.run, "model.int8.onnx"), xe, spec_input)
        er = ev.compare(e32, em32, e8, em8, ye, t, a.pixel_threshold)
        er["images"] = int(len(ye))
        er["defect"] = int(ye.sum())
        metrics.setdefault("extra", {})[ename] = er
        print(f"extra eval {ename}: fp32 acc {er['fp32']['accuracy']:.4f} int8 acc {er['int8']['accuracy']:.4f} agree {er['verdict_agreement']:.4f}")
    json.dump(metrics, open(os.path.join(a.run, "metrics.json"), "w"), indent=1)
    print("SUMMARY", json.dumps({
        "method": final["method"], "float_kept": final["float_kept"], "threshold": t,
        "fp32": {k: final["fp32"][k] for k in ("accuracy", "auroc", "f1", "escapes", "false_rejects")},
        "int8": {k: final["int8"][k] for k in ("accuracy", "auroc", "f1", "escapes", "false_rejects")},
        "agreement": final["verdict_agreement"], "score_err": final["pred_score_err"], "map_err": final["anomaly_map_err"],
    }))


if __name__ == "__main__":
    main()
