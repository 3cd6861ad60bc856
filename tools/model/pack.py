"""Packs the .npy arrays written by export-dataset.ts / synth-dataset.ts into one <split>.npz per split.

  python3 pack.py --src .train/mt-ts --dst .train/magnetic-tile --splits train,val [--compress]
Shards (<split>.<k>.images.npy from synth-dataset.ts) are concatenated in shard order.
"""
import argparse
import glob
import json
import os

import numpy as np

FIELDS = ("images", "masks", "labels", "mask_valid")


def pack(src: str, split: str):
    single = os.path.join(src, f"{split}.images.npy")
    stems = [os.path.join(src, split)] if os.path.exists(single) else sorted(
        (p[: -len(".images.npy")] for p in glob.glob(os.path.join(src, f"{split}.*.images.npy"))),
        key=lambda s: int(s.rsplit(".", 1)[1]),
    )
    if not stems:
        raise SystemExit(f"no {split} arrays in {src}")
    out = {f: np.concatenate([np.load(f"{s}.{f}.npy") for s in stems]) for f in FIELDS}
    classes, paths = [], []
    for s in stems:
        meta = json.load(open(f"{s}.meta.json"))
        if isinstance(meta, dict):
            classes += meta.get("classes", [])
            paths += meta.get("paths", [])
        else:  # synth: list of {seed,index,kinds,boxes}
            classes += ["+".join(m["kinds"]) or "good" for m in meta]
            paths += [f"seed{m['seed']}/{m['index']}" for m in meta]
    out["classes"] = np.array(classes)
    out["paths"] = np.array(paths)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--splits", default="train,val")
    ap.add_argument("--compress", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.dst, exist_ok=True)
    for split in a.splits.split(","):
        d = pack(a.src, split)
        (np.savez_compressed if a.compress else np.savez)(os.path.join(a.dst, f"{split}.npz"), **d)
        print(split, d["images"].shape, "defect", int(d["labels"].sum()), "no-mask defects", int((d["mask_valid"] == 0).sum()))


if __name__ == "__main__":
    main()
