"""Cut a test set out of the train split that no choice ever sees (issue 13).

The magnetic-tile data set's own held-out test split is not in ../shared, and val is where the
threshold (and, here, the training recipe) is chosen, so neither can say how the shipped model
does on unseen parts. This keeps every 4th image of each class of train (file names sorted, a fixed
rule: no randomness to re-seed) out of training, INT8 calibration, the threshold and the recipe
choice. What is left trains ("fit").

  python3 holdout_split.py --data .train/magnetic-tile --root ../shared/data/magnetic-tile \
      [--every 4] [--csv .train/magnetic-tile/holdout.csv]
writes <data>/fit.npz, <data>/test.npz (same fields as train.npz) and, with --csv, a manifest
(path,split,class,label) of the fit, test and val files for `inspectd eval --labels CSV --split test`.
"""
from __future__ import annotations

import argparse
import os

import numpy as np


def holdout_mask(paths: np.ndarray, classes: np.ndarray, every: int) -> np.ndarray:
    """True for the held-out images: within each class, names sorted, positions every-1, 2*every-1, ..."""
    test = np.zeros(len(paths), bool)
    for c in sorted(set(classes.tolist())):
        idx = [i for i in np.flatnonzero(classes == c)]
        idx.sort(key=lambda i: str(paths[i]))
        for k, i in enumerate(idx):
            if k % every == every - 1:
                test[i] = True
    return test


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="folder with train.npz (and val.npz for the CSV)")
    ap.add_argument("--root", default="../shared/data/magnetic-tile", help="the data set's folder (paths in the CSV)")
    ap.add_argument("--every", type=int, default=4)
    ap.add_argument("--csv", default=None)
    a = ap.parse_args()
    d = dict(np.load(os.path.join(a.data, "train.npz")))
    test = holdout_mask(d["paths"], d["classes"], a.every)
    for name, sel in (("fit", ~test), ("test", test)):
        np.savez_compressed(os.path.join(a.data, f"{name}.npz"), **{k: v[sel] for k, v in d.items()})
        print(name, int(sel.sum()), "images,", int(d["labels"][sel].sum()), "defect")
    if a.csv:
        root = os.path.abspath(a.root)
        rows = ["path,split,class,label"]
        v = np.load(os.path.join(a.data, "val.npz"))
        for paths, classes, labels, splits in (
            (d["paths"], d["classes"], d["labels"], np.where(test, "test", "fit")),
            (v["paths"], v["classes"], v["labels"], np.full(len(v["paths"]), "val")),
        ):
            for p, c, l, s in zip(paths, classes, labels, splits):
                rows.append(f"{os.path.join(root, str(p))},{s},{c},{'defect' if l else 'good'}")
        open(a.csv, "w").write("\n".join(rows) + "\n")
        print("manifest", a.csv, len(rows) - 1, "rows")


if __name__ == "__main__":
    main()
