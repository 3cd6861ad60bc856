"""Pick one of several trained+quantised runs by their VALIDATION numbers only (issue 13).

Each run folder holds select_int8.py's metrics.json; its "chosen" block is measured on val at the
threshold chosen on val. The "extra" block (the held-out test set) is never read here: the recipe
choice must not see it. Rule, in order: a threshold meeting escapes <= 2% and false rejects <= 5%
for both precisions exists; the fewest false rejects of the worse precision; the highest INT8/FP32
verdict agreement; the widest logit margin around the threshold.

  python3 pick_recipe.py RUN_DIR... > pick.json
"""
import json
import os
import sys


def key(run: str):
    c = json.load(open(os.path.join(run, "metrics.json")))["chosen"]
    fr = max(c["fp32"]["false_reject_rate"], c["int8"]["false_reject_rate"])
    return (bool(c["threshold_feasible"]), -round(fr, 6), round(c["verdict_agreement"], 6), c["margin_logit"]), c


def main():
    rows = []
    for run in sys.argv[1:]:
        if not os.path.exists(os.path.join(run, "metrics.json")):
            print(f"{run}: no metrics.json (training or quantisation failed)", file=sys.stderr)
            continue
        k, c = key(run)
        rows.append((k, run, c))
        print(f"{os.path.basename(run.rstrip('/')):24s} feasible={k[0]} t={c['threshold']:.5f} agree={c['verdict_agreement']:.4f} "
              f"esc {c['fp32']['escapes']}/{c['int8']['escapes']} fr {c['fp32']['false_rejects']}/{c['int8']['false_rejects']} "
              f"auroc {c['fp32']['auroc']:.4f}/{c['int8']['auroc']:.4f} [{c['method']}, {c['float_kept']}]", file=sys.stderr)
    rows.sort(key=lambda r: r[0], reverse=True)
    print(json.dumps({"picked": rows[0][1], "order": [r[1] for r in rows]}))


if __name__ == "__main__":
    main()
