"""Two views per patch for ensemble_oof.py's ContextNet probe (issue 12, tmpl4, idea 3), from patches cut
at 96 px (extract-patches --input '{"width":96,"height":96}', centred as the 48 px ones): channels 0-2 the
centre 48 px (the daemon's own patch), channels 3-5 the whole 96 px window averaged 2x2 down to 48 px
(rounded half up, as OpenCV's INTER_AREA does at an integer factor). Checks the centre against the 48 px
extraction, and packs <dst>/<part>.npz (patches [N,6,48,48], labels, thin).

  python3 tools/template/pack_context.py --src .train/aoi96 --near .train/aoi --dst .carry/ctx/data --parts group00041,...
"""
import argparse
import json
import os

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--src", required=True)
ap.add_argument("--near", required=True)
ap.add_argument("--dst", required=True)
ap.add_argument("--parts", required=True)
a = ap.parse_args()
os.makedirs(a.dst, exist_ok=True)
for part in a.parts.split(","):
    big = np.load(os.path.join(a.src, f"{part}.patches.npy"))
    near = np.load(os.path.join(a.near, f"{part}.patches.npy"))
    y = np.load(os.path.join(a.src, f"{part}.labels.npy"))
    centre = big[:, :, 24:72, 24:72]
    same = float((centre == near).all(axis=(1, 2, 3)).mean())
    far = ((big.reshape(len(big), 3, 48, 2, 48, 2).astype(np.uint16).sum(axis=(3, 5)) + 2) // 4).astype(np.uint8)
    thin = np.zeros(len(y), bool)
    for b in json.load(open(os.path.join(a.src, f"{part}.boards.json")))["boards"]:
        for i, p in enumerate(b.get("pass") or []):
            thin[b["first"] + i] = p == "thin"
    np.savez_compressed(os.path.join(a.dst, f"{part}.npz"), patches=np.concatenate([centre, far], 1), labels=y, thin=thin)
    print(part, big.shape, "centre equals the 48 px patch:", same, "labels equal:", bool((y == np.load(os.path.join(a.near, f"{part}.labels.npy"))).all()))
