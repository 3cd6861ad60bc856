"""The inspectd defect network: a plain Conv-BN-ReLU CNN with two heads.

Outputs (both sigmoids, already in [0, 1]):
  pred_score  [N, 1]            image-level defect probability
  anomaly_map [N, 1, H/8, W/8]  per-cell defect probability (learned from masks)

Plain 3x3 convolutions, ReLU (no SiLU/depthwise) and channel counts in multiples of 16 so that
the INT8 QDQ graph maps onto fused integer convolutions in ONNX Runtime (x86 VNNI) and TensorRT.
BatchNorm is folded into the convolutions before export (``fuse_for_export``).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class CBR(nn.Sequential):
    def __init__(self, cin: int, cout: int, stride: int = 1, k: int = 3):
        super().__init__(
            nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


WIDTHS = {
    # name: (stem, s4, s8, map-head, s16, s32)
    "s": (16, 32, 64, 32, 96, 128),
    "m": (16, 32, 64, 32, 128, 128),
    "l": (24, 48, 96, 48, 128, 160),
}


class DefectNet(nn.Module):
    def __init__(self, in_ch: int = 1, width: str = "s"):
        super().__init__()
        c1, c2, c3, cm, c4, c5 = WIDTHS[width]
        self.width = width
        self.in_ch = in_ch
        # stride-8 trunk: shared by both heads
        self.trunk = nn.Sequential(
            CBR(in_ch, c1, 2),  # H/2
            CBR(c1, c2, 2),  # H/4
            CBR(c2, c2, 1),
            CBR(c2, c3, 2),  # H/8
            CBR(c3, c3, 1),
            CBR(c3, c3, 1),
        )
        # anomaly map head (H/8)
        self.map_head = nn.Sequential(CBR(c3, cm, 1), nn.Conv2d(cm, 1, 1))
        # image score branch: two more strides for context (defects like "uneven" are large)
        self.deep = nn.Sequential(
            CBR(c3, c4, 2),  # H/16
            CBR(c4, c4, 1),
            CBR(c4, c5, 2),  # H/32
            CBR(c5, c5, 1),
        )
        # score from global avg + global max of deep features and the max map logit
        self.fc = nn.Linear(2 * c5 + 1, 1)

    def forward_logits(self, x: torch.Tensor):
        f8 = self.trunk(x)
        map_logit = self.map_head(f8)
        d = self.deep(f8)
        gap = F.adaptive_avg_pool2d(d, 1).flatten(1)
        gmp = F.adaptive_max_pool2d(d, 1).flatten(1)
        mmax = F.adaptive_max_pool2d(map_logit, 1).flatten(1)
        score_logit = self.fc(torch.cat([gap, gmp, mmax], dim=1))
        return score_logit, map_logit

    def forward(self, x: torch.Tensor):
        s, m = self.forward_logits(x)
        return torch.sigmoid(s), torch.sigmoid(m)


def fuse_for_export(model: DefectNet) -> DefectNet:
    """Return an eval-mode copy with every Conv+BN folded into one Conv (bias added)."""
    import copy

    from torch.nn.utils.fusion import fuse_conv_bn_eval

    m = copy.deepcopy(model).eval()

    def fuse(mod: nn.Module):
        for name, child in list(mod.named_children()):
            if isinstance(child, CBR):
                conv, bn, relu = child[0], child[1], child[2]
                fused = fuse_conv_bn_eval(conv, bn)
                setattr(mod, name, nn.Sequential(fused, nn.ReLU(inplace=False)))
            else:
                fuse(child)

    fuse(m)
    return m


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def macs(model: DefectNet, h: int, w: int) -> int:
    """Multiply-accumulates of the convolutions and the FC for one [1, C, h, w] input."""
    total = 0
    hooks = []

    def conv_hook(mod, inp, out):
        nonlocal total
        k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
        total += k * out.numel()

    def fc_hook(mod, inp, out):
        nonlocal total
        total += mod.in_features * mod.out_features

    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(fc_hook))
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, model.in_ch, h, w))
    model.train(was)
    for hk in hooks:
        hk.remove()
    return total


def export_onnx(model: DefectNet, path: str, h: int, w: int) -> None:
    """FP32 ONNX, opset 17, static batch 1, input 'input', outputs 'pred_score', 'anomaly_map'."""
    fused = fuse_for_export(model).cpu().eval()
    dummy = torch.zeros(1, model.in_ch, h, w)
    kwargs = dict(
        input_names=["input"],
        output_names=["pred_score", "anomaly_map"],
        opset_version=17,
        do_constant_folding=True,
    )
    try:
        torch.onnx.export(fused, (dummy,), path, dynamo=False, **kwargs)
    except TypeError:  # older torch without the dynamo flag
        torch.onnx.export(fused, (dummy,), path, **kwargs)
    strip_identities(path)


def strip_identities(path: str) -> None:
    """Remove Identity nodes (the exporter emits them for de-duplicated initialisers), so every
    Conv reads its weight and bias straight from an initializer, as the quantiser needs."""
    import onnx

    m = onnx.load(path)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    outputs = {o.name for o in g.output}
    keep = []
    for n in g.node:
        if n.op_type == "Identity" and n.input[0] in inits and n.output[0] not in outputs:
            t = onnx.TensorProto()
            t.CopyFrom(inits[n.input[0]])
            t.name = n.output[0]
            g.initializer.append(t)
            inits[t.name] = t
        else:
            keep.append(n)
    del g.node[:]
    g.node.extend(keep)
    onnx.checker.check_model(m)
    onnx.save(m, path)
