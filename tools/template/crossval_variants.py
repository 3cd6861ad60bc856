"""Out-of-fold predictions of several classifier recipes at once, for choosing the recipe on train only.

crossval_patches.py's procedure (each TRAIN board group held out in turn, the recipe fitted on the
other four, the held-out group's patches predicted; then one fit on all train groups, exported), for
one recipe named on the command line, so several recipes run side by side on one GPU (the network is
small: one process leaves the GPU mostly idle). Patches come cut at 64 px (extract-patches --input);
a 48 px recipe takes their centre (train_patches.crop), optionally moved by up to `jitter` px in
training only. Validation patches are never read.

  python3 crossval_variants.py --data DIR --groups group00041,... --recipe c64e60 --folds group00041,all --out OUT
Writes OUT/<recipe>/oof-<group>.npy (probs [N, 7] of the held-out group) and, for "all", model.onnx,
model.int8.onnx, train-log.json.
"""
import argparse
import json
import os
import time

import numpy as np
import torch

from train_patches import crop, export, fit, predict

# side: the model's input (px); jitter: training offset of the 48 px window (px); widths: PatchNet's channels;
# nuisance: the nuisance class's loss weight (train_patches.fit).
RECIPES = {
    "b48e60": dict(side=48, epochs=60, jitter=0, widths=(24, 48, 64)),  # v0.2.0's recipe
    "b48e90": dict(side=48, epochs=90, jitter=0, widths=(24, 48, 64)),
    "j48e90": dict(side=48, epochs=90, jitter=4, widths=(24, 48, 64)),
    "w48e90": dict(side=48, epochs=90, jitter=4, widths=(32, 64, 96)),
    "n48e60": dict(side=48, epochs=60, jitter=0, widths=(24, 48, 64), nuisance=0.25),  # v0.5.0 trial: thin-pass nuisance weighed down
    "c64e60": dict(side=64, epochs=60, jitter=0, widths=(24, 48, 64)),
    "c64e90": dict(side=64, epochs=90, jitter=0, widths=(24, 48, 64)),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--groups", required=True)
    ap.add_argument("--recipe", required=True, choices=sorted(RECIPES))
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--out", required=True)
    ap.add_argument("--folds", default="all")
    a = ap.parse_args()
    r = RECIPES[a.recipe]
    dev = "cuda"
    groups = a.groups.split(",")
    data = {g: np.load(os.path.join(a.data, f"{g}.npz")) for g in groups}
    xs = {g: torch.from_numpy(d["patches"]).to(dev) for g, d in data.items()}
    ys = {g: torch.from_numpy(d["labels"].astype(np.int64)).to(dev) for g, d in data.items()}
    kw = dict(side=r["side"], jitter=r["jitter"], widths=r["widths"], nuisance=r.get("nuisance", 1.0), dev=dev)
    dst = os.path.join(a.out, a.recipe)
    os.makedirs(dst, exist_ok=True)
    t0 = time.time()
    # --folds: which fits this process runs, in order ("all" = the fit on every train group, exported),
    # so the fits of one recipe can be spread over processes; each is written as soon as it is done.
    for held in a.folds.split(","):
        if held == "all":
            allx = torch.cat([xs[g] for g in groups])
            model, log = fit(allx, torch.cat([ys[g] for g in groups]), r["epochs"], a.batch, a.seed, **kw)
            export(model, crop(allx, r["side"]).cpu().numpy(), dst)
            json.dump({"recipe": a.recipe, **{k: list(v) if isinstance(v, tuple) else v for k, v in r.items()}, "epochs": log,
                       "seconds": time.time() - t0, "train_patches": len(allx), "seed": a.seed, "groups": groups},
                      open(os.path.join(dst, "train-log.json"), "w"), indent=1)
            print(f"{a.recipe} all: exported ({time.time() - t0:.0f} s)", flush=True)
            continue
        rest = [g for g in groups if g != held]
        model, _ = fit(torch.cat([xs[g] for g in rest]), torch.cat([ys[g] for g in rest]), r["epochs"], a.batch, a.seed, **kw)
        p = predict(model, crop(xs[held], r["side"]))
        np.save(os.path.join(dst, f"oof-{held}.npy"), p.cpu().numpy())
        acc = (p.argmax(1) == ys[held]).float().mean().item()
        print(f"{a.recipe} held out {held}: patch accuracy {acc:.4f} ({time.time() - t0:.0f} s)", flush=True)

if __name__ == "__main__":
    main()
