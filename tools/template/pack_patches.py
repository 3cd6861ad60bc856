"""Packs extract-patches output (<part>.patches.npy, <part>.labels.npy) into <dst>/<part>.npz, compressed
(the patches are near-binary and shrink ~10x, so they fit the GPU box's transfer limit).

  python3 pack_patches.py --src .train/deeppcb --dst .train/deeppcb-npz --parts train,validation
"""
import argparse
import os

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--src", required=True)
ap.add_argument("--dst", required=True)
ap.add_argument("--parts", default="train,validation")
a = ap.parse_args()
os.makedirs(a.dst, exist_ok=True)
for part in a.parts.split(","):
    p = np.load(os.path.join(a.src, f"{part}.patches.npy"))
    y = np.load(os.path.join(a.src, f"{part}.labels.npy"))
    np.savez_compressed(os.path.join(a.dst, f"{part}.npz"), patches=p, labels=y)
    print(part, p.shape, np.bincount(y, minlength=7).tolist(), os.path.getsize(os.path.join(a.dst, f"{part}.npz")))
