"""Packs extract-patches output (<part>.patches.npy, <part>.labels.npy) into <dst>/<part>.npz, compressed
(the patches are near-binary and shrink ~10x, so they fit the GPU box's transfer limit).

  python3 pack_patches.py --src .train/deeppcb --dst .train/deeppcb-npz --parts train,validation [--boards]
"""
import argparse
import json
import os

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--src", required=True)
ap.add_argument("--dst", required=True)
ap.add_argument("--parts", default="train,validation")
# --boards: also store `thin` [N] bool from <part>.boards.json (the pass that found each patch), so a
# trainer can keep to main-pass patches (ensemble_oof.py) while predicting all of them.
ap.add_argument("--boards", action="store_true")
a = ap.parse_args()


def thin_mask(part, n):
    thin = np.zeros(n, bool)
    for b in json.load(open(os.path.join(a.src, f"{part}.boards.json")))["boards"]:
        for i, p in enumerate(b.get("pass") or []):
            thin[b["first"] + i] = p == "thin"
    return thin


os.makedirs(a.dst, exist_ok=True)
for part in a.parts.split(","):
    p = np.load(os.path.join(a.src, f"{part}.patches.npy"))
    y = np.load(os.path.join(a.src, f"{part}.labels.npy"))
    extra = {"thin": thin_mask(part, len(y))} if a.boards else {}
    np.savez_compressed(os.path.join(a.dst, f"{part}.npz"), patches=p, labels=y, **extra)
    print(part, p.shape, np.bincount(y, minlength=7).tolist(), os.path.getsize(os.path.join(a.dst, f"{part}.npz")))
