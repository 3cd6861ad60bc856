"""Train the golden-template kind's patch classifier (nuisance + six DeepPCB classes) and export it.

Input: <data>/train.npz from tools/template/extract-patches.js + pack: patches [N,3,48,48] uint8
(tested, reference, blob mask, cut by the daemon's own template stage), labels [N] (0 nuisance,
1-6 classes). Fixed epochs, fixed seed, EMA weights of the last epoch: no checkpoint is picked on
validation, which is only reported. Augmentation: the 8 flips/rotations of the square (the
classes do not depend on orientation) and small brightness changes of the grey channels.
Writes model.onnx (FP32, opset 17, dynamic batch, softmax in the graph: output `probs`) and
model.int8.onnx (static QDQ, s8 symmetric activations, per-channel 7-bit weights as the other
models, calibrated on train patches), train-log.json.

  python3 train_patches.py --data .train/deeppcb --out .train/out/deeppcb-template --epochs 40
"""
import argparse
import copy
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class PatchNet(nn.Module):
    """About 100k parameters: three conv stages at 48, 24, 12 px, global pooling, one linear layer."""

    def __init__(self, classes=7, widths=(24, 48, 64)):
        super().__init__()
        a, b, c = widths

        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                                 nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

        self.features = nn.Sequential(block(3, a), nn.MaxPool2d(2), block(a, b), nn.MaxPool2d(2), block(b, c))
        self.head = nn.Linear(c * 2, classes)

    def forward(self, x):
        f = self.features(x)
        f = torch.cat([F.adaptive_avg_pool2d(f, 1), F.adaptive_max_pool2d(f, 1)], 1).flatten(1)
        return self.head(f)


class WithSoftmax(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return torch.softmax(self.m(x), dim=1)


def normalise(x):
    # model.json: scale 1/255, mean 0.5, std 0.5 -> [-1, 1]
    return x.float() / 127.5 - 1.0


def crop(x, side, jitter=0):
    """The side x side window of patches cut larger (extract-patches --input): the centre, or with
    jitter > 0 a window moved by up to that many pixels (one offset per batch), which teaches the
    network that a defect need not sit exactly in the middle of its window."""
    big = x.shape[-1]
    if big == side:
        return x
    o = (big - side) // 2
    dx, dy = (np.random.randint(-jitter, jitter + 1, 2) if jitter else (0, 0))
    dx, dy = int(np.clip(o + dx, 0, big - side)), int(np.clip(o + dy, 0, big - side))
    return x[:, :, dy:dy + side, dx:dx + side]


def augment(x):
    k = np.random.randint(4)
    x = torch.rot90(x, k, dims=(2, 3))
    if np.random.rand() < 0.5:
        x = torch.flip(x, dims=(3,))
    return x


def fit(x, y, epochs, batch, seed, xv=None, yv=None, dev="cuda", side=None, jitter=0, widths=(24, 48, 64), nuisance=1.0, net=None):
    """The fixed recipe: AdamW, one-cycle to 3e-3, label smoothing 0.05, EMA of the weights (0.99 a
    step), the last epoch's EMA returned (nothing picked on xv/yv, which are only logged).
    nuisance < 1 weighs the nuisance class's loss down: with the thin pass two patches in three are
    nuisance, and a network trained on that mix calls shallow mousebites nuisance more often.
    net: the network's class (PatchNet; ensemble_oof.ContextNet for patches with a second, wider view)."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    side = side or x.shape[-1]
    model = (net or PatchNet)(widths=widths).to(dev)
    # Grey channels: every view's tested and reference (each view is 3 channels, its third the blob mask).
    grey = [c for c in range(x.shape[1]) if c % 3 != 2]
    ema = copy.deepcopy(model)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    log = []
    weight = torch.tensor([nuisance] + [1.0] * 6, device=dev)
    # EMA over the state's tensors, held once (the optimiser and BN update them in place); one
    # foreach call per step instead of a kernel per tensor, and the loss read once an epoch, not
    # synchronised every step: the same arithmetic, fewer launches (the net is small, launches dominate).
    ema_state, model_state = list(ema.state_dict().values()), list(model.state_dict().values())
    ema_f = [e for e in ema_state if e.dtype.is_floating_point]
    model_f = [m for e, m in zip(ema_state, model_state) if e.dtype.is_floating_point]
    counters = [(e, m) for e, m in zip(ema_state, model_state) if not e.dtype.is_floating_point]
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(x), device=dev)
        tot = torch.zeros((), device=dev)
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            xb = normalise(augment(crop(x[idx], side, jitter)))
            # brightness jitter on the grey channels only (the mask channel is exact)
            xb[:, grey] = xb[:, grey] * (1 + 0.1 * (torch.rand(len(xb), 1, 1, 1, device=dev) - 0.5))
            loss = F.cross_entropy(model(xb), y[idx], weight=weight, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                torch._foreach_mul_(ema_f, 0.99)
                torch._foreach_add_(ema_f, model_f, alpha=0.01)
                for pe, pm in counters:
                    pe.copy_(pm)
            tot += loss.detach() * len(idx)
        entry = {"epoch": ep, "loss": tot.item() / len(x)}
        if xv is not None:
            entry["val_patch_acc"] = (predict(ema, crop(xv, side)).argmax(1) == yv).float().mean().item()
        log.append(entry)
        if ep % 10 == 9 or ep == epochs - 1:
            print(entry, flush=True)
    return ema.eval(), log


def predict(model, xs):
    """Class probabilities [N, 7] of uint8 patches, in batches."""
    model.eval()
    with torch.no_grad():
        return torch.cat([torch.softmax(model(normalise(xs[i:i + 1024])), 1) for i in range(0, len(xs), 1024)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    dev = "cuda"
    tr = np.load(os.path.join(a.data, "train.npz"))
    x = torch.from_numpy(tr["patches"]).to(dev)
    y = torch.from_numpy(tr["labels"].astype(np.int64)).to(dev)
    va = np.load(os.path.join(a.data, "validation.npz"))
    xv = torch.from_numpy(va["patches"]).to(dev)
    yv = torch.from_numpy(va["labels"].astype(np.int64)).to(dev)
    t0 = time.time()
    ema, log = fit(x, y, a.epochs, a.batch, a.seed, xv, yv, dev)
    export(ema, tr["patches"], a.out)
    json.dump({"epochs": log, "seconds": time.time() - t0, "train_patches": len(x), "seed": a.seed}, open(os.path.join(a.out, "train-log.json"), "w"), indent=1)
    report(a.out, xv, yv)


def export(ema, train_patches, out, wrap=True):
    """model.onnx (FP32, softmax in the graph) and model.int8.onnx (static QDQ, calibrated on 512 train patches,
    already cut to the model's side). wrap=False: `ema` already ends in probabilities (ensemble_oof.Ensemble)."""
    final = WithSoftmax(ema.cpu().eval()) if wrap else ema.cpu().eval()
    dummy = torch.zeros(1, 3, train_patches.shape[-2], train_patches.shape[-1])
    fp32 = os.path.join(out, "model.onnx")
    torch.onnx.export(final, dummy, fp32, input_names=["patches"], output_names=["probs"], opset_version=17,
                      dynamic_axes={"patches": {0: "n"}, "probs": {0: "n"}}, dynamo=False)
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    calib = normalise(torch.from_numpy(train_patches[np.random.RandomState(0).permutation(len(train_patches))[:512]])).numpy()

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            if self.i >= len(calib):
                return None
            b = calib[self.i:self.i + 1]
            self.i += 1
            return {"patches": b}

    pre = os.path.join(out, "pre.onnx")
    quant_pre_process(fp32, pre)
    quantize_static(pre, os.path.join(out, "model.int8.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                    nodes_to_exclude=[n.name for n in __import__("onnx").load(pre).graph.node if n.op_type == "Softmax"],
                    extra_options={"ActivationSymmetric": True, "WeightSymmetric": True})
    os.remove(pre)


def report(out, xv, yv):
    """Patch accuracy of the exported FP32 and INT8 files through onnxruntime (the daemon's runtime)."""
    import onnxruntime as ort
    for f in ["model.onnx", "model.int8.onnx"]:
        s = ort.InferenceSession(os.path.join(out, f), providers=["CPUExecutionProvider"])
        xs = normalise(xv.cpu()).numpy()
        p = np.concatenate([s.run(None, {"patches": xs[i:i + 512]})[0] for i in range(0, len(xs), 512)])
        print(f, "val patch accuracy", float((p.argmax(1) == yv.cpu().numpy()).mean()), flush=True)


if __name__ == "__main__":
    main()
