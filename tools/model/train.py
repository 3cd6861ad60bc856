"""Train the inspectd defect network (tools/model/net.py) from scratch on preprocessed uint8 data.

Input: <data>/train.npz and <data>/val.npz as written by tools/model/export-dataset.ts (magnetic
tile) or synth-dataset.ts (synthetic line): images [N,H,W] or [N,C,H,W] uint8 exactly as the
daemon preprocesses them, masks [N,H,W] uint8 (0..255, soft at edges), labels [N] (1 = defect),
mask_valid [N] (0 = defect image without a usable mask: its map loss is skipped).

Loss: image-level BCE on the score logit + BCE on the map logits against the mask max-pooled to
the H/8 x W/8 grid. Defects are oversampled to a fixed share of each batch. Augmentation runs on
the GPU: flips, small shifts/scales (same warp on the mask), brightness/contrast, re-quantised to
the 8-bit grid the daemon feeds. The weights kept are the EMA of the last epoch (no checkpoint
picking on val). Deterministic for a given seed on the same hardware/software.

  python3 train.py --data .train/magnetic-tile --out out/mt --epochs 120 --seed 1234
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import net  # noqa: E402


def set_seed(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def load(path: str):
    d = np.load(path)
    x = d["images"]
    if x.ndim == 3:
        x = x[:, None]
    m = d["masks"]
    if m.ndim == 3:
        m = m[:, None]
    return x, m, d["labels"].astype(np.float32), d["mask_valid"].astype(np.float32)


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos = scores[labels == 1]
    neg = scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    # Mann-Whitney U with ties counted half
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    sv = allv[order]
    i = 0
    while i < len(sv):
        j = i
        while j + 1 < len(sv) and sv[j + 1] == sv[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    rp = ranks[: len(pos)].sum()
    return float((rp - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def augment(x: torch.Tensor, m: torch.Tensor, g: torch.Generator, shift: float, scale: float, photo: bool, flips: str,
            rot90: bool = False):
    """x, m: float [B,C,H,W] in [0,1]. Same geometric warp for image and mask. rot90 (square inputs
    only) also transposes half the batch: with both flips that is every turn and mirror of the tile."""
    b = x.shape[0]
    dev = x.device
    if rot90:
        t = (torch.rand(b, generator=g, device=dev) < 0.5).view(b, 1, 1, 1)
        x = torch.where(t, x.transpose(2, 3), x)
        m = torch.where(t, m.transpose(2, 3), m)

    def u(lo, hi, n=b):
        return lo + (hi - lo) * torch.rand(n, generator=g, device=dev)

    sx = torch.ones(b, device=dev)
    sy = torch.ones(b, device=dev)
    if "h" in flips:
        sx = torch.where(torch.rand(b, generator=g, device=dev) < 0.5, -sx, sx)
    if "v" in flips:
        sy = torch.where(torch.rand(b, generator=g, device=dev) < 0.5, -sy, sy)
    s = u(1 - scale, 1 + scale)
    theta = torch.zeros(b, 2, 3, device=dev)
    theta[:, 0, 0] = sx * s
    theta[:, 1, 1] = sy * s
    theta[:, 0, 2] = u(-shift, shift) * 2
    theta[:, 1, 2] = u(-shift, shift) * 2
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    m = F.grid_sample(m, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if photo:
        c = u(0.75, 1.25).view(b, 1, 1, 1)
        br = u(-0.1, 0.1).view(b, 1, 1, 1)
        mu = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mu) * c + mu + br
    x = torch.round(x.clamp(0, 1) * 255) / 255  # back onto the 8-bit grid the daemon feeds
    return x, m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--width", default="s", choices=sorted(net.WIDTHS))
    ap.add_argument("--epochs", type=int, default=120)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps-per-epoch", type=int, default=0, help="0 = len(train)/batch")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--defect-share", type=float, default=0.5, help="share of defect images per batch")
    ap.add_argument("--map-weight", type=float, default=1.0)
    ap.add_argument("--map-pos-weight", type=float, default=3.0)
    ap.add_argument("--shift", type=float, default=0.06)
    ap.add_argument("--scale", type=float, default=0.08)
    ap.add_argument("--flips", default="hv")
    ap.add_argument("--rot90", action="store_true", help="also transpose half the batch (square inputs)")
    ap.add_argument("--train-split", default="train", help="<data>/<name>.npz trains (e.g. fit: train less the held-out test)")
    ap.add_argument("--no-photo", action="store_true")
    ap.add_argument("--mean", type=float, default=-1, help="input mean (x/255 units); -1 = from train set")
    ap.add_argument("--std", type=float, default=-1)
    ap.add_argument("--ema", type=float, default=0.998)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--limit", type=int, default=0, help="debug: use only the first N train/val images")
    a = ap.parse_args()

    set_seed(a.seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True, warn_only=True)
    os.makedirs(a.out, exist_ok=True)
    dev = torch.device(a.device)

    xtr, mtr, ytr, vtr = load(os.path.join(a.data, f"{a.train_split}.npz"))
    xva, mva, yva, vva = load(os.path.join(a.data, "val.npz"))
    if a.limit:
        xtr, mtr, ytr, vtr = xtr[: a.limit], mtr[: a.limit], ytr[: a.limit], vtr[: a.limit]
        xva, mva, yva, vva = xva[: a.limit], mva[: a.limit], yva[: a.limit], vva[: a.limit]
    n, c, h, w = xtr.shape
    assert h % 32 == 0 and w % 32 == 0, "input height and width must be multiples of 32"
    mean = float(np.round(xtr.mean() / 255, 3)) if a.mean < 0 else a.mean
    std = float(np.round(xtr.std() / 255, 3)) if a.std < 0 else a.std
    print(f"train {n} ({int(ytr.sum())} defect), val {len(xva)} ({int(yva.sum())} defect), input {c}x{h}x{w}, mean {mean} std {std}")

    Xtr = torch.from_numpy(xtr).to(dev)
    Mtr = torch.from_numpy(mtr).to(dev)
    Ytr = torch.from_numpy(ytr).to(dev)
    Vtr = torch.from_numpy(vtr).to(dev)
    Xva = torch.from_numpy(xva).to(dev)

    model = net.DefectNet(c, a.width).to(dev)
    params = net.count_params(model)
    print(f"params {params}, MACs {net.macs(model.cpu(), h, w) / 1e6:.1f} M")
    model.to(dev)
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)

    steps = a.steps_per_epoch or max(1, math.ceil(n / a.batch))
    total = steps * a.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=total, pct_start=0.1)
    g = torch.Generator(device=dev)
    g.manual_seed(a.seed)
    w_samp = torch.where(Ytr > 0, a.defect_share / max(1, int(ytr.sum())), (1 - a.defect_share) / max(1, int((1 - ytr).sum())))
    mean_t = torch.tensor(mean, device=dev)
    std_t = torch.tensor(std, device=dev)

    def norm(x01):
        return (x01 - mean_t) / std_t

    def predict(mdl, X, bs=64):
        out_s, out_m = [], []
        with torch.no_grad():
            for i in range(0, len(X), bs):
                s, m = mdl(norm(X[i : i + bs].float() / 255))
                out_s.append(s[:, 0].float().cpu())
                out_m.append(m.float().cpu())
        return torch.cat(out_s).numpy(), torch.cat(out_m).numpy()

    log = []
    t0 = time.time()
    step = 0
    for ep in range(a.epochs):
        model.train()
        tot = {"loss": 0.0, "score": 0.0, "map": 0.0}
        for _ in range(steps):
            idx = torch.multinomial(w_samp, a.batch, replacement=True, generator=g)
            x = Xtr[idx].float() / 255
            m = Mtr[idx].float() / 255
            x, m = augment(x, m, g, a.shift, a.scale, not a.no_photo, a.flips, a.rot90)
            y = Ytr[idx]
            valid = Vtr[idx]
            s_logit, m_logit = model.forward_logits(norm(x))
            l_score = F.binary_cross_entropy_with_logits(s_logit[:, 0], y)
            target = F.max_pool2d(m, 8)
            per = F.binary_cross_entropy_with_logits(
                m_logit, target, reduction="none", pos_weight=torch.tensor(a.map_pos_weight, device=dev)
            ).mean(dim=(1, 2, 3))
            l_map = (per * valid).sum() / valid.sum().clamp_min(1)
            loss = l_score + a.map_weight * l_map
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            with torch.no_grad():
                d = min(a.ema, (1 + step) / (10 + step))
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.mul_(d).add_(pm.detach(), alpha=1 - d)
                for be, bm in zip(ema.buffers(), model.buffers()):
                    be.copy_(bm)
            tot["loss"] += loss.item()
            tot["score"] += l_score.item()
            tot["map"] += l_map.item()
        rec = {"epoch": ep + 1, **{k: v / steps for k, v in tot.items()}, "time_s": round(time.time() - t0, 1)}
        if (ep + 1) % max(1, a.epochs // 10) == 0 or ep + 1 == a.epochs:
            sv, _ = predict(ema, Xva)
            rec["val_auroc_ema"] = auroc(sv, yva)
            rec["val_acc@0.5_ema"] = float(((sv >= 0.5) == (yva > 0)).mean())
            print(json.dumps(rec), flush=True)
        log.append(rec)

    ema = ema.cpu().eval()
    torch.save({"state_dict": ema.state_dict(), "width": a.width, "in_ch": c, "h": h, "w": w, "mean": mean, "std": std}, os.path.join(a.out, "model.pt"))
    net.export_onnx(ema, os.path.join(a.out, "model.onnx"), h, w)
    info = {
        "args": vars(a),
        "params": params,
        "macs": net.macs(ema, h, w),
        "input": {"channels": c, "height": h, "width": w, "mean": mean, "std": std},
        "train_images": int(n),
        "train_defect": int(ytr.sum()),
        "train_time_s": round(time.time() - t0, 1),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
        "log": log,
    }
    json.dump(info, open(os.path.join(a.out, "train.json"), "w"), indent=1)
    print(f"done in {info['train_time_s']} s -> {a.out}/model.onnx")


if __name__ == "__main__":
    main()
