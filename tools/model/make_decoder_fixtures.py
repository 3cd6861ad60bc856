"""Real ONNX fixtures for the `classification` and Anomalib-layout `anomaly-map` decoder tests.

Both are RE-EXPORTS of inspectd's own trained magnetic-tile network (tools/model/net.py, the
checkpoint train.py wrote), in other output layouts. Neither is a third-party classifier nor an
Anomalib-trained model; they exist so the decoders run on real trained weights and real outputs.

  classifier/model.onnx  input `input` [1,1,224,224] -> `logits` [1,2] over ["good", "defect"]:
                         logits = [0, z] with z the pred_score logit (before its sigmoid), so
                         softmax(logits)[1] == sigmoid(z) == the native model's pred_score.
  anomalib/model.onnx    input `input` [1,1,224,224] -> `pred_score` [1] = z (raw, un-normalised)
                         and `anomaly_map` [1,1,224,224] = the map head's logits, bilinearly
                         upsampled (align_corners=False) to the input size, as Anomalib's maps are.
  anomalib/metadata.json Anomalib's normalisation metadata for it, computed on the magnetic-tile
                         VAL split (preprocessed by the daemon, .train/magnetic-tile/val.npz):
                         image_threshold / pixel_threshold = Anomalib's F1AdaptiveThreshold (the
                         score maximising F1 on val images / val pixels, masks binarised >= 128);
                         min / max = min and max of the raw values over all val images, taken over
                         the anomaly maps AND the pred_scores together (Anomalib's MinMax callback
                         uses the maps only; the union keeps every val score inside the range).
  stats.json             checks: agreement of both exports with the native FP32 model.onnx on val.

  python3 tools/model/make_decoder_fixtures.py --ckpt .train/out/magnetic-tile/model.pt \
      --val .train/magnetic-tile/val.npz --native models/magnetic-tile/model.onnx --out OUTDIR
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import net  # noqa: E402


class Classifier(nn.Module):
    """softmax-ready 2-logit head [0, z]: p(defect) = e^z / (1 + e^z) = sigmoid(z)."""

    def __init__(self, m: net.DefectNet):
        super().__init__()
        self.m = m

    def forward(self, x):
        s, _ = self.m.forward_logits(x)
        return torch.cat([torch.zeros_like(s), s], dim=1)


class AnomalibLayout(nn.Module):
    """Anomalib's un-normalised outputs: raw pred_score [N] and an input-resolution anomaly_map."""

    def __init__(self, m: net.DefectNet, h: int, w: int):
        super().__init__()
        self.m = m
        self.h = h
        self.w = w

    def forward(self, x):
        s, m = self.m.forward_logits(x)
        amap = F.interpolate(m, size=(self.h, self.w), mode="bilinear", align_corners=False)
        return s.flatten(), amap


def export(module: nn.Module, path: str, c: int, h: int, w: int, outputs: list[str]) -> None:
    kwargs = dict(input_names=["input"], output_names=outputs, opset_version=17, do_constant_folding=True)
    dummy = torch.zeros(1, c, h, w)
    try:
        torch.onnx.export(module, (dummy,), path, dynamo=False, **kwargs)
    except TypeError:
        torch.onnx.export(module, (dummy,), path, **kwargs)
    net.strip_identities(path)


def f1_adaptive_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Anomalib's F1AdaptiveThreshold: torchmetrics' binary precision-recall curve (thresholds =
    the distinct scores, ascending, predicted positive where score >= threshold), the threshold
    at the first argmax of 2PR / (P + R + 1e-10). Returns (threshold, f1)."""
    scores = scores.astype(np.float64).ravel()
    labels = labels.astype(bool).ravel()
    order = np.argsort(-scores, kind="mergesort")
    s = scores[order]
    y = labels[order]
    tps = np.cumsum(y)
    fps = np.cumsum(~y)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # last index of each distinct value (descending)
    thr, tp, fp = s[last], tps[last], fps[last]
    prec = tp / (tp + fp)
    rec = tp / max(1, tps[-1])
    f1 = 2 * prec * rec / (prec + rec + 1e-10)
    # ascending threshold order, first maximum (torch.argmax)
    thr, f1 = thr[::-1], f1[::-1]
    i = int(np.argmax(f1))
    return float(thr[i]), float(f1[i])


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--native", required=True, help="the native FP32 model.onnx (outputs sigmoid pred_score, anomaly_map)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    import onnxruntime as ort

    torch.manual_seed(0)
    ck = torch.load(a.ckpt, map_location="cpu")
    c, h, w, mean, std = ck["in_ch"], ck["h"], ck["w"], ck["mean"], ck["std"]
    model = net.DefectNet(c, ck["width"])
    model.load_state_dict(ck["state_dict"])
    fused = net.fuse_for_export(model).cpu().eval()  # the same folding as the native export

    os.makedirs(os.path.join(a.out, "classifier"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "anomalib"), exist_ok=True)
    cls_path = os.path.join(a.out, "classifier", "model.onnx")
    ano_path = os.path.join(a.out, "anomalib", "model.onnx")
    with torch.no_grad():
        export(Classifier(fused).eval(), cls_path, c, h, w, ["logits"])
        export(AnomalibLayout(fused, h, w).eval(), ano_path, c, h, w, ["pred_score", "anomaly_map"])

    d = np.load(a.val)
    images, masks, labels = d["images"], d["masks"], d["labels"].astype(np.int64)
    valid = d["mask_valid"].astype(bool)
    n = len(images)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 8
    sess = {k: ort.InferenceSession(p, so, providers=["CPUExecutionProvider"]) for k, p in (("native", a.native), ("cls", cls_path), ("ano", ano_path))}
    nat_s = np.zeros(n, np.float32)
    nat_map_max = np.zeros(n, np.float32)
    cls_logits = np.zeros((n, 2), np.float32)
    ano_s = np.zeros(n, np.float32)
    ano_maps = np.zeros((n, h, w), np.float32)
    for i in range(n):
        x = ((images[i].astype(np.float32) * np.float32(1 / 255) - np.float32(mean)) / np.float32(std)).reshape(1, c, h, w).astype(np.float32)
        ps, pm = sess["native"].run(["pred_score", "anomaly_map"], {"input": x})
        nat_s[i] = ps.ravel()[0]
        nat_map_max[i] = pm.max()
        cls_logits[i] = sess["cls"].run(["logits"], {"input": x})[0].ravel()
        s, m = sess["ano"].run(["pred_score", "anomaly_map"], {"input": x})
        assert s.shape == (1,) and m.shape == (1, 1, h, w), (s.shape, m.shape)
        ano_s[i] = s[0]
        ano_maps[i] = m[0, 0]

    z = cls_logits.astype(np.float64)
    p_cls = np.exp(z[:, 1] - np.logaddexp(z[:, 0], z[:, 1]))
    sig_ano = 1 / (1 + np.exp(-ano_s.astype(np.float64)))

    img_thr, img_f1 = f1_adaptive_threshold(ano_s, labels)
    pix_sel = np.ones(n, bool) & (valid | (labels == 0))
    pix_thr, pix_f1 = f1_adaptive_threshold(ano_maps[pix_sel], masks[pix_sel] >= 128)
    mn = float(min(ano_maps.min(), ano_s.min()))
    mx = float(max(ano_maps.max(), ano_s.max()))
    span = mx - mn
    norm = np.clip((ano_s.astype(np.float64) - img_thr) / span + 0.5, 0, 1)
    raw_thr_prob = 1 / (1 + np.exp(-img_thr))

    meta = {
        "task": "segmentation",
        "image_threshold": img_thr,
        "pixel_threshold": pix_thr,
        "min": mn,
        "max": mx,
    }
    json.dump(meta, open(os.path.join(a.out, "anomalib", "metadata.json"), "w"), indent=2)
    stats = {
        "checkpoint_sha256": sha256(a.ckpt),
        "native_onnx_sha256": sha256(a.native),
        "classifier_onnx_sha256": sha256(cls_path),
        "anomalib_onnx_sha256": sha256(ano_path),
        "classifier_onnx_bytes": os.path.getsize(cls_path),
        "anomalib_onnx_bytes": os.path.getsize(ano_path),
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
        "input": {"channels": c, "height": h, "width": w, "mean": mean, "std": std},
        "val_images": int(n),
        "val_defect": int(labels.sum()),
        "pixel_images": int(pix_sel.sum()),
        "classifier_logit0_max_abs": float(np.abs(cls_logits[:, 0]).max()),
        "classifier_p_defect_vs_native_max_abs": float(np.abs(p_cls - nat_s).max()),
        "anomalib_sigmoid_score_vs_native_max_abs": float(np.abs(sig_ano - nat_s).max()),
        "anomalib_score_vs_classifier_logit_max_abs": float(np.abs(ano_s - cls_logits[:, 1]).max()),
        "metadata": meta,
        "image_threshold_f1": img_f1,
        "pixel_threshold_f1": pix_f1,
        "image_threshold_as_probability": raw_thr_prob,
        "map_only_min_max": [float(ano_maps.min()), float(ano_maps.max())],
        "score_min_max": [float(ano_s.min()), float(ano_s.max())],
        "normalised_score_clamped_0": int((norm <= 0).sum()),
        "normalised_score_clamped_1": int((norm >= 1).sum()),
        "verdicts_norm_vs_raw_disagree": int(((norm >= 0.5) != (ano_s >= img_thr)).sum()),
        "verdicts_norm_vs_native_prob_disagree": int(((norm >= 0.5) != (nat_s >= np.float32(raw_thr_prob))).sum()),
        "val_at_image_threshold": {
            "escapes": int(((ano_s < img_thr) & (labels == 1)).sum()),
            "false_rejects": int(((ano_s >= img_thr) & (labels == 0)).sum()),
        },
        "val_raw_scores": {str(p): [float(s), float(ns)] for p, s, ns in zip(d["paths"], ano_s, nat_s)},
    }
    json.dump(stats, open(os.path.join(a.out, "stats.json"), "w"), indent=1)
    short = {k: v for k, v in stats.items() if k != "val_raw_scores"}
    print(json.dumps(short, indent=1))


if __name__ == "__main__":
    main()
