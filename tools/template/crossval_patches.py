"""Held-out predictions for choosing the golden-template model's operating point without validation.

The classifier is confident on the patches it was trained on, so thresholds chosen on its own
training boards come out too high (the first model's did: recall 95% on validation at 0.5). Here,
for each recipe (epochs), each TRAIN board group is held out in turn: the fixed recipe of
train_patches.py is fitted on the other train groups and predicts the held-out group's patches.
Those out-of-fold probabilities (every train patch predicted by a model that never saw its board
group) are what tools/template/crossval.ts scores to choose box rule and per-class thresholds.
Then each recipe is fitted once on all train groups and exported (model.onnx, model.int8.onnx).
Validation patches are never read here.

  python3 crossval_patches.py --data DIR --groups group00041,group13000,... --epochs 40,60 --out OUT
DIR holds <group>.npz (patches, labels: pack_patches.py --parts <groups>). Writes OUT/oof-e<E>.npz
(one array of probabilities [N, 7] per group), OUT/e<E>/model.onnx, model.int8.onnx, train-log.json.
"""
import argparse
import json
import os
import time

import numpy as np
import torch

from train_patches import export, fit, predict


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--groups", required=True)
    ap.add_argument("--epochs", default="40")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    dev = "cuda"
    groups = a.groups.split(",")
    data = {g: np.load(os.path.join(a.data, f"{g}.npz")) for g in groups}
    xs = {g: torch.from_numpy(d["patches"]).to(dev) for g, d in data.items()}
    ys = {g: torch.from_numpy(d["labels"].astype(np.int64)).to(dev) for g, d in data.items()}
    summary = {}
    for epochs in [int(e) for e in a.epochs.split(",")]:
        t0 = time.time()
        oof = {}
        acc = {}
        for held in groups:
            rest = [g for g in groups if g != held]
            model, _ = fit(torch.cat([xs[g] for g in rest]), torch.cat([ys[g] for g in rest]), epochs, a.batch, a.seed, dev=dev)
            p = predict(model, xs[held])
            oof[held] = p.cpu().numpy()
            acc[held] = (p.argmax(1) == ys[held]).float().mean().item()
            print(f"epochs {epochs} held out {held}: patch accuracy {acc[held]:.4f}", flush=True)
        np.savez_compressed(os.path.join(a.out, f"oof-e{epochs}.npz"), **oof)
        allx = torch.cat([xs[g] for g in groups])
        model, log = fit(allx, torch.cat([ys[g] for g in groups]), epochs, a.batch, a.seed, dev=dev)
        dst = os.path.join(a.out, f"e{epochs}")
        os.makedirs(dst, exist_ok=True)
        export(model, allx.cpu().numpy(), dst)
        json.dump({"epochs": log, "seconds": time.time() - t0, "train_patches": len(allx), "seed": a.seed, "groups": groups}, open(os.path.join(dst, "train-log.json"), "w"), indent=1)
        summary[epochs] = {"heldOutPatchAccuracy": acc, "seconds": time.time() - t0}
    json.dump(summary, open(os.path.join(a.out, "crossval-summary.json"), "w"), indent=1)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
