"""INT8 vs FP32 verdicts on parts no choice has seen: thresholds chosen on one half of a split,
measured on the other half (and the halves swapped: 2-fold cross-validation).

Reads `inspectd infer --threshold 0` JSON lines for both precisions (the daemon's own scores, on
this machine's CPU) and the manifest. The val split is cut into two halves per class (file names
sorted, alternating), so each half keeps the class mix; the model (trained on `train`) and its
INT8 calibration (256 `train` tiles) have seen neither.

Rules compared, each choosing on the `select` half only:
  shipped     the model.json threshold as shipped (chosen on ALL of val: not a held-out number)
  single      one threshold for both precisions, the shipped rule: escapes <= max_escape and false
              rejects <= max_fr for both, fewest INT8/FP32 flips, then farthest (logit) from any score
  per-prec    FP32: escapes <= max_escape, fewest false rejects, then the middle of that gap (logit);
              INT8: the threshold whose INT8 verdicts agree most with FP32's on the select half, then
              the middle of that gap in INT8 scores
numpy only:  python3 tools/model/precision_thresholds.py --manifest M --fp32 F.jsonl --int8 I.jsonl --split val
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np


def logit(x):
    x = np.clip(np.asarray(x, dtype=np.float64), 1e-7, 1 - 1e-7)
    return np.log(x / (1 - x))


def auroc(s, y):
    s = np.asarray(s, dtype=np.float64)
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[order[j + 1]] == s[order[i]]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n1 = int(y.sum()); n0 = len(y) - n1
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def metrics(s32, s8, y, t32, t8):
    v32 = s32 >= t32; v8 = s8 >= t8
    out = {}
    for name, v, s in (("fp32", v32, s32), ("int8", v8, s8)):
        esc = int((y & ~v).sum()); fr = int((~y & v).sum())
        out[name] = {"escapes": esc, "escape_rate": esc / max(1, y.sum()), "false_rejects": fr,
                     "fr_rate": fr / max(1, (~y).sum()), "auroc": auroc(s, y)}
    flips = int((v32 != v8).sum())
    out["flips"] = flips; out["agreement"] = 1 - flips / len(y); out["images"] = int(len(y))
    out["defective"] = int(y.sum())
    return out


def candidates(*scores):
    """Midpoints (in logit space) between neighbouring distinct scores of all given arrays."""
    u = np.unique(np.concatenate([logit(s) for s in scores]))
    mids = (u[:-1] + u[1:]) / 2
    return 1 / (1 + np.exp(-mids))


def margin(t, *scores):
    return min(float(np.min(np.abs(logit(s) - logit(t)))) for s in scores)


def pick_single(s32, s8, y, max_escape, max_fr):
    best = None
    fallback = None
    for t in candidates(s32, s8):
        m = metrics(s32, s8, y, t, t)
        esc_ok = all(m[p]["escape_rate"] <= max_escape for p in ("fp32", "int8"))
        if esc_ok and (fallback is None or t > fallback):
            fallback = t
        if not (esc_ok and all(m[p]["fr_rate"] <= max_fr for p in ("fp32", "int8"))):
            continue
        key = (m["flips"], -margin(t, s32, s8))
        if best is None or key < best[0]:
            best = (key, t)
    # As select_int8.py: if none qualifies, the highest threshold keeping escapes within bounds.
    t = best[1] if best else fallback
    return t, t


def pick_per_precision(s32, s8, y, max_escape):
    best = None
    for t in candidates(s32):
        v = s32 >= t
        esc = (y & ~v).sum() / max(1, y.sum()); fr = int((~y & v).sum())
        key = (0 if esc <= max_escape else 1, fr, -margin(t, s32))
        if best is None or key < best[0]:
            best = (key, t)
    t32 = best[1]
    v32 = s32 >= t32
    best8 = None
    for t in candidates(s8):
        agree = int(((s8 >= t) == v32).sum())
        key = (-agree, -margin(t, s8))
        if best8 is None or key < best8[0]:
            best8 = (key, t)
    return t32, best8[1]


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            rows[os.path.realpath(r["file"])] = r["score"]
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--fp32", required=True)
    ap.add_argument("--int8", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--shipped", type=float, required=True)
    ap.add_argument("--max-escape", type=float, default=0.02)
    ap.add_argument("--max-fr", type=float, default=0.10)
    ap.add_argument("--out", help="write every figure and the halves' file lists as JSON")
    ap.add_argument("--halves-csv", help="write the halves as a manifest (path,split,class,label; split <split>-A / <split>-B) for inspectd eval --split")
    a = ap.parse_args()
    base = os.path.dirname(os.path.realpath(a.manifest))
    f32, f8 = load(a.fp32), load(a.int8)
    with open(a.manifest) as f:
        head = f.readline().strip().split(",")
        rows = [dict(zip(head, l.strip().split(","))) for l in f if l.strip()]
    rows = [r for r in rows if r["split"] == a.split]
    halves = {"A": [], "B": []}
    for cls in sorted({r["class"] for r in rows}):
        files = sorted(r["path"] for r in rows if r["class"] == cls)
        for i, p in enumerate(files):
            halves["A" if i % 2 == 0 else "B"].append((p, cls, next(r for r in rows if r["path"] == p)["label"] != "good"))

    if a.halves_csv:
        with open(a.halves_csv, "w") as f:
            f.write("path,split,class,label\n")
            for k, items in halves.items():
                for p, cls, d in items:
                    f.write(f"{os.path.join(base, p)},{a.split}-{k},{cls},{'defect' if d else 'good'}\n")

    def arrays(items):
        paths = [os.path.realpath(os.path.join(base, p)) for p, _, _ in items]
        return (np.array([f32[p] for p in paths]), np.array([f8[p] for p in paths]), np.array([d for _, _, d in items]))

    report = {"split": a.split, "halves": {k: [p for p, _, _ in v] for k, v in halves.items()}, "folds": []}
    for sel, test in (("A", "B"), ("B", "A")):
        S, T = arrays(halves[sel]), arrays(halves[test])
        fold = {"select": sel, "test": test}
        for name, (t32, t8) in (("shipped", (a.shipped, a.shipped)),
                                ("single", pick_single(*S, a.max_escape, a.max_fr)),
                                ("per-prec", pick_per_precision(*S, a.max_escape))):
            fold[name] = {"t_fp32": t32, "t_int8": t8, "select": metrics(*S, t32, t8), "test": metrics(*T, t32, t8)}
        report["folds"].append(fold)
    # Pooled over both test halves: every val tile judged once by thresholds chosen without it.
    pooled = {}
    for name in ("shipped", "single", "per-prec"):
        agg = {"flips": 0, "images": 0, "fp32": {"escapes": 0, "false_rejects": 0}, "int8": {"escapes": 0, "false_rejects": 0}}
        for fold in report["folds"]:
            m = fold[name]["test"]
            agg["flips"] += m["flips"]; agg["images"] += m["images"]
            for p in ("fp32", "int8"):
                agg[p]["escapes"] += m[p]["escapes"]; agg[p]["false_rejects"] += m[p]["false_rejects"]
        pooled[name] = agg
    report["pooled_test"] = pooled
    s32, s8, y = arrays(halves["A"] + halves["B"])
    report["all"] = {"images": int(len(y)), "defective": int(y.sum()), "auroc_fp32": auroc(s32, y), "auroc_int8": auroc(s8, y)}
    if a.out:
        with open(a.out, "w") as f:
            json.dump(report, f, indent=1)
    for fold in report["folds"]:
        print(f"select {fold['select']} -> test {fold['test']}")
        for name in ("shipped", "single", "per-prec"):
            r = fold[name]
            for part in ("select", "test"):
                m = r[part]
                print(f"  {name:9s} t32 {r['t_fp32']:.6f} t8 {r['t_int8']:.6f} {part:6s} n={m['images']:3d} agree {100*m['agreement']:6.2f}% "
                      f"({m['flips']} flips)  FP32 esc {m['fp32']['escapes']} ({100*m['fp32']['escape_rate']:.1f}%) FR {m['fp32']['false_rejects']} ({100*m['fp32']['fr_rate']:.1f}%) AUROC {m['fp32']['auroc']:.4f}"
                      f" | INT8 esc {m['int8']['escapes']} ({100*m['int8']['escape_rate']:.1f}%) FR {m['int8']['false_rejects']} ({100*m['int8']['fr_rate']:.1f}%) AUROC {m['int8']['auroc']:.4f}")
    n = report["all"]
    for name, agg in pooled.items():
        print(f"pooled test halves, {name:9s}: {agg['images']} tiles, flips {agg['flips']} ({100*(1-agg['flips']/agg['images']):.2f}% agree); "
              f"FP32 esc {agg['fp32']['escapes']}/{n['defective']} FR {agg['fp32']['false_rejects']}/{n['images']-n['defective']}; "
              f"INT8 esc {agg['int8']['escapes']}/{n['defective']} FR {agg['int8']['false_rejects']}/{n['images']-n['defective']}")
    print(f"AUROC over the split: FP32 {n['auroc_fp32']:.4f}, INT8 {n['auroc_int8']:.4f}")


if __name__ == "__main__":
    main()
