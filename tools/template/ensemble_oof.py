"""Seed ensembles and test-time flips of the golden-template classifier, out of fold, and their export
as ONE ONNX file (issue 12, tmpl4).

`fit`: one fit of a recipe of crossval_variants.py with one seed, trained on the MAIN-pass patches of
the train groups other than `--fold` (v0.2.0's patch mix: the shipped network never saw a thin-pass
patch, and tmpl2 found that training on thin nuisance loses out of fold), predicting ALL of the held
group's patches (main and thin, as the daemon would) under the 8 symmetries of the square. Writes
OUT/s<seed>/oof-<group>.npy, float16 [8, N, 7]: view v = 4*t + f, t: transposed or not, f: none /
flip x / flip y / both (view 0 is the plain prediction). `--fold all`: the fit on every train group,
its weights saved as OUT/s<seed>/all.pt. Validation patches are never read.

`export`: from the all.pt of `--seeds`, model.onnx and model.int8.onnx whose graph runs every member
on every view named in `--views` and averages the probabilities (input `patches` [N,3,48,48], output
`probs` [N,7], as the single network's file, so the daemon needs no change), checked against the
members run in torch.

  python3 ensemble_oof.py fit --data DIR --groups group00041,... --recipe b48e60 --seed 1234 --fold group00041 --out OUT
  python3 ensemble_oof.py export --data DIR --groups ... --seeds 1234,1,2,3,4 --views 0 --out OUT/k5v1
DIR holds <group>.npz (pack_patches.py --boards: patches, labels, thin).
`fit --context`: ContextNet on 6-channel patches (tools/template/pack_context.py), saved under OUT/ctx-s<seed>.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from crossval_variants import RECIPES
from train_patches import PatchNet, export as export_single, fit, normalise

# Views 0-7 as above; the four rotations are 0 (none), 3 (180), 5 and 6 (90 and 270).
ROTATIONS = [0, 3, 5, 6]


def pooled(features, x):
    f = features(x)
    return torch.cat([F.adaptive_avg_pool2d(f, 1), F.adaptive_max_pool2d(f, 1)], 1).flatten(1)


class ContextNet(nn.Module):
    """Idea 3's probe: two PatchNet feature stacks, one on the true-scale 48 px window (channels 0-2),
    one on a window twice as wide averaged down to 48 px (channels 3-5), their pooled features joined
    before one linear layer: a short's two bridged traces can show in the wide view when the blob
    fills the near one."""

    def __init__(self, classes=7, widths=(24, 48, 64)):
        super().__init__()
        self.near = PatchNet(classes, widths).features
        self.far = PatchNet(classes, widths).features
        self.head = nn.Linear(widths[-1] * 4, classes)

    def forward(self, x):
        return self.head(torch.cat([pooled(self.near, x[:, :3]), pooled(self.far, x[:, 3:])], 1))


def view(x, v):
    """The v-th symmetry of the square of NCHW patches."""
    if v >= 4:
        x = x.transpose(2, 3)
    f = v % 4
    if f == 1:
        x = torch.flip(x, dims=(3,))
    elif f == 2:
        x = torch.flip(x, dims=(2,))
    elif f == 3:
        x = torch.flip(x, dims=(2, 3))
    return x


class Ensemble(nn.Module):
    """The mean of the members' softmax over the chosen views: what the exported graph computes."""

    def __init__(self, members, views):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.views = list(views)

    def forward(self, x):
        n = x.shape[0]
        stacked = torch.cat([view(x, v) for v in self.views], 0) if len(self.views) > 1 else view(x, self.views[0])
        probs = torch.stack([torch.softmax(m(stacked), 1) for m in self.members], 0).mean(0)
        return probs.reshape(len(self.views), n, -1).mean(0)


def load(data, groups, dev):
    d = {g: np.load(os.path.join(data, f"{g}.npz")) for g in groups}
    return {g: (torch.from_numpy(v["patches"]).to(dev), torch.from_numpy(v["labels"].astype(np.int64)).to(dev), torch.from_numpy(v["thin"]).to(dev)) for g, v in d.items()}


def predict_views(model, xs):
    model.eval()
    out = []
    with torch.no_grad():
        for v in range(8):
            out.append(torch.cat([torch.softmax(model(normalise(view(xs[i:i + 1024], v))), 1) for i in range(0, len(xs), 1024)]))
    return torch.stack(out, 0)


def cmd_fit(a):
    dev = "cuda"
    r = RECIPES[a.recipe]
    groups = a.groups.split(",")
    data = load(a.data, groups, dev)
    rest = groups if a.fold == "all" else [g for g in groups if g != a.fold]
    # Main-pass patches only: the shipped network's training mix.
    x = torch.cat([data[g][0][~data[g][2]] for g in rest])
    y = torch.cat([data[g][1][~data[g][2]] for g in rest])
    t0 = time.time()
    net = ContextNet if a.context else None
    model, log = fit(x, y, r["epochs"], a.batch, a.seed, side=r["side"], jitter=r["jitter"], widths=r["widths"], nuisance=r.get("nuisance", 1.0), dev=dev, net=net)
    dst = os.path.join(a.out, ("ctx-" if a.context else "") + f"s{a.seed}")
    os.makedirs(dst, exist_ok=True)
    if a.fold == "all":
        torch.save(model.state_dict(), os.path.join(dst, "all.pt"))
        json.dump({"recipe": a.recipe, "seed": a.seed, "groups": groups, "train_patches": len(x), "seconds": time.time() - t0, "epochs": log}, open(os.path.join(dst, "all-log.json"), "w"))
    else:
        p = predict_views(model, data[a.fold][0])
        np.save(os.path.join(dst, f"oof-{a.fold}.npy"), p.cpu().numpy().astype(np.float16))
        acc = (p[0].argmax(1) == data[a.fold][1]).float().mean().item()
        print(f"seed {a.seed} held out {a.fold}: patch accuracy {acc:.4f} (views averaged {(p.mean(0).argmax(1) == data[a.fold][1]).float().mean().item():.4f})", flush=True)
    print(f"seed {a.seed} fold {a.fold}: {len(x)} patches, {time.time() - t0:.0f} s", flush=True)


def cmd_export(a):
    groups = a.groups.split(",")
    members = []
    for s in a.seeds.split(","):
        m = PatchNet(widths=RECIPES[a.recipe]["widths"])
        m.load_state_dict(torch.load(os.path.join(a.cv, f"s{s}", "all.pt"), map_location="cpu"))
        members.append(m.eval())
    views = [int(v) for v in a.views.split(",")]
    ens = Ensemble(members, views).eval()
    data = load(a.data, groups, "cpu")
    main_x = torch.cat([data[g][0][~data[g][2]] for g in groups])
    os.makedirs(a.out, exist_ok=True)
    export_single(ens, main_x.numpy(), a.out, wrap=False)
    # The graph must compute what the members compute: the mean of their softmax over the views.
    import onnxruntime as ort
    xs = normalise(main_x[:: max(1, len(main_x) // 1024)])
    with torch.no_grad():
        ref = torch.stack([torch.stack([torch.softmax(m(view(xs, v)), 1) for v in views]).mean(0) for m in members]).mean(0).numpy()
    y = torch.cat([data[g][1][~data[g][2]] for g in groups])[:: max(1, len(main_x) // 1024)].numpy()
    report = {"seeds": a.seeds, "views": views, "patches": len(xs)}
    for f in ["model.onnx", "model.int8.onnx"]:
        s = ort.InferenceSession(os.path.join(a.out, f), providers=["CPUExecutionProvider"])
        p = np.concatenate([s.run(None, {"patches": xs[i:i + 256].numpy()})[0] for i in range(0, len(xs), 256)])
        report[f] = {"maxAbsDiffFromTorch": float(np.abs(p - ref).max()), "argmaxAgreement": float((p.argmax(1) == ref.argmax(1)).mean()), "trainPatchAccuracy": float((p.argmax(1) == y).mean())}
    json.dump(report, open(os.path.join(a.out, "export-check.json"), "w"), indent=1)
    print(json.dumps(report), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["fit", "export"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--groups", required=True)
    ap.add_argument("--recipe", default="b48e60", choices=sorted(RECIPES))
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--fold", default="all")
    ap.add_argument("--seeds", default="1234")
    ap.add_argument("--views", default="0")
    ap.add_argument("--cv", help="export: the fit step's OUT")
    # --context: patches of 6 channels (pack_context.py: the 48 px window and a 96 px one averaged to 48), ContextNet.
    ap.add_argument("--context", action="store_true")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    cmd_fit(a) if a.cmd == "fit" else cmd_export(a)


if __name__ == "__main__":
    main()
