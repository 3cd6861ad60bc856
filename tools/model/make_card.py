"""Writes models/<name>/CARD.md from what the pipeline measured (train.json, metrics.json,
local-eval.json, latency.json) and the committed files' sizes and sha256.

  python3 make_card.py --run .train/out/NAME --dst models/NAME --latency .train/out/NAME/latency.json
      [--local-eval models/NAME/local-eval.json]
"""
import argparse
import hashlib
import json
import os

TEXT = {
    "magnetic-tile": {
        "title": "magnetic-tile: magnetic (ferrite) tile surface defects",
        "data": (
            "Magnetic-tile surface-defect set (Huang, Qiu, Yuan, *Surface defect saliency of magnetic tile*, The Visual "
            "Computer 36, 85-96, 2020, doi:10.1007/s00371-018-1588-5), as laid out in `../shared/data/magnetic-tile` "
            "(see its README: research/test use, no licence file, do not redistribute; no image of it is in this repo). "
            "**Train** split (806 images: 571 MT_Free, 235 defective) for training and INT8 calibration; **val** split "
            "(268: 190 good, 78 defective) for the threshold and every number below. The held-out test split was never "
            "touched. Defect classes blowhole, break, crack, fray and uneven are all `defect`; MT_Free is `good`. Masks "
            "binarised at >= 128; the 3 train MT_Uneven images with empty masks keep label `defect` and get no map loss."
        ),
        "input": (
            "Grayscale, **224x224 stretch** (tiles are 103-632 px wide and 222-403 px high, mean about 330x320: one fixed "
            "square size keeps the batch static for INT8 engines; 224 keeps blowholes of a few pixels visible while the "
            "map grid is 28x28, i.e. 8 px cells). Preprocessing is the daemon's own: `imread(IMREAD_COLOR)` -> `BGR2GRAY` -> "
            "`resizeForModel` (INTER_AREA when shrinking both ways, INTER_LINEAR otherwise), exported by "
            "`tools/model/export-dataset.ts` (a Python OpenCV twin, `export_mt_py.py`, gives the same bytes on all 1,074 train+val "
            "images: max abs difference 0); normalisation `(u8/255 - 0.429)/0.182` (train-set mean and std). Cross-check through "
            "the daemon itself: `inspectd eval -m models/magnetic-tile/model.json --labels <val CSV> --precision fp32|int8` "
            "prints the same accuracy, escapes, false rejects and AUROC as the table below."
        ),
    },
    "synthetic-line": {
        "title": "synthetic-line: the synthetic camera's parts (inspectd's default model)",
        "data": (
            "Rendered by the daemon's own synthetic renderer (`src/source/synthetic/render.ts`, the `inspectd synth` "
            "camera) at the live default frame size 640x512 mono, with **disjoint line seeds**: train seeds 1000-1039 x 400 "
            "frames (16,000, defect rate 0.5), val seeds 2000-2009 x 300 (3,000, defect rate 0.3 like the live line), "
            "INT8 calibration seeds 3000-3003 x 64 (256, drawn from the training side, never val). The live line's default "
            "seed 1 is in none of them; 1,000 frames of it (indices 0-999, rate 0.3) are a final check only ('live' below). "
            "Labels and defect boxes come from the renderer's truth; pixel masks = pixels inside a truth box that differ by "
            ">= 3 grey levels from the same frame rendered without defects (the renderer's determinism guarantees the same part)."
        ),
        "input": (
            "Grayscale **320x256** from 640x512 frames: the daemon's `resizeForModel` does INTER_AREA, which for an exact 2x "
            "shrink of uint8 is `(a+b+c+d+2)>>2` per 2x2 block; `tools/model/synth-dataset.ts` computes exactly that. "
            "Checked bit for bit against `resizeForModel` on 40 frames in `test/model/synthetic-line.test.ts`: **max abs "
            "difference 0**. Half resolution keeps 2-px spots visible at 4x fewer MACs than full frames. Normalisation "
            "`(u8/255 - 0.5)/0.5`: a zero-centred input makes the symmetric INT8 input quantiser one step per grey level "
            "(the train-set mean/std used first left 1.4 grey levels per step and lost faint defects)."
        ),
        "entropy_note": (
            "Entropy is not in this table: in the first run (same recipe but train-set mean/std normalisation and 8-bit "
            "weights) it was measured and was by far the worst (78.5% agreement, INT8 AUROC 0.728 against min-max's 99.7% "
            "and 0.992), so the final quantisation compared the other three. That first run also used an escape-capped "
            "threshold rule (escapes <= 1%), which forced the threshold to 0.019 and 40% false rejects: about 3% of the "
            "rendered defects (faint spots and scratches) are not separable at 320x256, so this model's threshold "
            "maximises accuracy instead."
        ),
    },
}

ARCH = (
    "`tools/model/net.py` DefectNet width `s`: a plain Conv3x3-BN-ReLU network (BN folded into the convolutions at "
    "export). Trunk to stride 8: 16 (s2) -> 32 (s2) -> 32 -> 64 (s2) -> 64 -> 64 channels. **anomaly_map** head: "
    "Conv3x3 64->32 + ReLU + Conv1x1 32->1 + Sigmoid at H/8 x W/8. **pred_score** head: two more stride-2 stages "
    "(96, 96, 128, 128 channels, down to H/32 for context on large defects such as 'uneven'), global average + "
    "global max pooling, concatenated with the max map logit, Linear(257->1) + Sigmoid. {params:,} parameters, "
    "{macs:.0f} M multiply-accumulates per image. Why this size: the data is small (hundreds to a few thousand "
    "images) and the edge CPU budget is a few ms; half a million parameters train from scratch in about a minute "
    "without overfitting badly, and the ops are the ones INT8 engines fuse (Conv+ReLU, no depthwise, no SiLU, "
    "channel counts multiples of 16)."
)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pct(x):
    return f"{100 * x:.2f}%"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--latency", required=True)
    ap.add_argument("--local-eval", default=None, help="evaluate.py --json output measured on the deployment CPU")
    ap.add_argument("--quantize-host", default=os.environ.get("QUANTIZE_HOST", "this machine's CPU"),
                    help="where select_int8.py ran (its candidate table was measured there)")
    a = ap.parse_args()
    name = os.path.basename(os.path.normpath(a.dst))
    tr = json.load(open(os.path.join(a.run, "train.json")))
    ver = json.load(open(os.path.join(a.run, "versions.json")))
    met = json.load(open(os.path.join(a.dst, "metrics.json")))
    spec = json.load(open(os.path.join(a.dst, "model.json")))
    lat = json.load(open(a.latency))
    loc = json.load(open(a.local_eval)) if a.local_eval else None
    ch = met["chosen"]
    t = spec["thresholds"]["default"]
    txt = TEXT[name]
    L = []
    L.append(f"# {txt['title']}\n")
    L.append(f"`model.json` v{spec['version']}: decoder `anomaly-map` (outputs `pred_score` [1,1] and `anomaly_map` "
             f"[1,1,{spec['input']['height'] // 8},{spec['input']['width'] // 8}], both sigmoids in [0,1], no normalisation block), "
             f"default precision **INT8**, threshold **{t}**, map cells >= {spec['decoder']['pixelThreshold']} form defect regions.\n")
    L.append("## Data and split\n")
    L.append(txt["data"] + "\n")
    L.append("## Input\n")
    L.append(txt["input"] + "\n")
    L.append("## Architecture\n")
    L.append(ARCH.format(params=tr["params"], macs=tr["macs"] / 1e6) + "\n")
    ar = tr["args"]
    L.append("## Training\n")
    L.append(
        f"From scratch, seed {ar['seed']}, on an {ver.get('gpu')} (torch {ver['torch']}): {ar['epochs']} epochs x "
        f"{tr['log'][0] and len(tr['log']) and ar.get('steps_per_epoch') or 'len(train)/batch'} steps, batch {ar['batch']}, AdamW "
        f"(lr {ar['lr']}, weight decay {ar['wd']}) with a one-cycle schedule, EMA of weights (decay {ar['ema']}; the EMA "
        f"weights of the last epoch are shipped, no checkpoint was picked on val). Defects oversampled to "
        f"{ar['defect_share']:.0%} of each batch. Loss: BCE on the image score + {ar['map_weight']} x BCE (positive weight "
        f"{ar['map_pos_weight']}) on the map against the mask max-pooled to the 8x8-pixel grid, skipped for defect images "
        f"without a mask. GPU augmentation: flips ({ar['flips']}), shifts up to {ar['shift']:.0%}, scale +-{ar['scale']:.0%} "
        f"(same warp on the mask), brightness/contrast{' (off)' if ar['no_photo'] else ''}, re-quantised to 8 bits. "
        f"Training took {tr['train_time_s']} s.\n")
    L.append("## Validation: FP32 vs INT8\n")
    src = ("measured with onnxruntime 1.30 on **this machine's CPU** (the deployment CPU kind; see the INT8 note below)"
           if loc else "measured with onnxruntime on the CPU")
    L.append(f"On the val split ({met['val_images']} images, {met['val_defect']} defective), {src}, at the shipped "
             f"threshold {t}. Threshold rule: {spec['thresholds']['rule']}.\n")
    r = loc or ch
    L.append("| | FP32 | INT8 |")
    L.append("|---|---|---|")
    for key, label, fmt in [("accuracy", "accuracy", pct), ("auroc", "AUROC", lambda v: f"{v:.4f}"), ("f1", "F1 at threshold", lambda v: f"{v:.4f}")]:
        L.append(f"| {label} | {fmt(r['fp32'][key])} | {fmt(r['int8'][key])} |")
    L.append(f"| escapes (defective passed) | {r['fp32']['escapes']} ({pct(r['fp32']['escape_rate'])}) | {r['int8']['escapes']} ({pct(r['int8']['escape_rate'])}) |")
    L.append(f"| false rejects (good failed) | {r['fp32']['false_rejects']} ({pct(r['fp32']['false_reject_rate'])}) | {r['int8']['false_rejects']} ({pct(r['int8']['false_reject_rate'])}) |")
    L.append("")
    L.append(f"- INT8/FP32 verdict agreement: **{pct(r['verdict_agreement'])}** ({r['verdict_flips']} of {met['val_images']} verdicts differ); AUROC drop {r['auroc_drop']:+.4f}.")
    L.append(f"- Per-output error of INT8 against FP32: `pred_score` max {r['pred_score_err']['max']:.4f}, mean {r['pred_score_err']['mean']:.5f}; "
             f"`anomaly_map` max {r['anomaly_map_err']['max']:.4f}, mean {r['anomaly_map_err']['mean']:.5f} "
             f"(map cells on the same side of {spec['decoder']['pixelThreshold']}: {pct(r['map_cell_agreement@pixelThreshold'])}).")
    rg = r["ranges"]
    L.append(f"- Output ranges on val: FP32 score [{rg['fp32_score'][0]:.4g}, {rg['fp32_score'][1]:.4g}], INT8 score [{rg['int8_score'][0]:.4g}, {rg['int8_score'][1]:.4g}], "
             f"FP32 map [{rg['fp32_map'][0]:.3g}, {rg['fp32_map'][1]:.3g}], INT8 map [{rg['int8_map'][0]:.3g}, {rg['int8_map'][1]:.3g}]: both outputs stay in [0,1] (the sigmoids run in float).")
    if loc and loc.get("per_class_fp32"):
        L.append("\nPer class at the threshold (failed / images), FP32 | INT8:\n")
        L.append("| class | images | FP32 failed | INT8 failed |")
        L.append("|---|---|---|---|")
        for c, v in loc["per_class_fp32"].items():
            L.append(f"| {c} | {v['n']} | {v['failed']} | {loc['per_class_int8'][c]['failed']} |")
    if met.get("extra", {}).get("live"):
        lv = met["extra"]["live"]
        L.append(f"\nLive-line check (seed 1, indices 0-999, rate 0.3; {lv['images']} frames, {lv['defect']} defective; never used for any choice), "
                 f"on {a.quantize_host}: accuracy FP32 {pct(lv['fp32']['accuracy'])}, INT8 {pct(lv['int8']['accuracy'])}, agreement {pct(lv['verdict_agreement'])}, "
                 f"escapes {lv['fp32']['escapes']}/{lv['int8']['escapes']}, false rejects {lv['fp32']['false_rejects']}/{lv['int8']['false_rejects']} (FP32/INT8).")
    if loc and loc.get("live"):
        lv = loc["live"]
        L.append(f"On this machine's CPU: accuracy FP32 {pct(lv['fp32']['accuracy'])}, INT8 {pct(lv['int8']['accuracy'])}, agreement {pct(lv['verdict_agreement'])}.")
    L.append("\n## INT8 quantisation\n")
    L.append(
        "Static post-training quantisation with `onnxruntime.quantization.quantize_static`, explicit **QDQ**, **signed INT8 "
        "activations and weights, symmetric (zero point 0), per-channel weights** (`ActivationSymmetric`, `WeightSymmetric`), "
        "the form TensorRT 10/11 build INT8 engines from, with `reduce_range` (7-bit weight values, still int8): x86 CPUs "
        "without VNNI (this machine: AVX2 only) multiply u8 x s8 pairs with `vpmaddubsw`, whose int16 pair sums saturate "
        "with full-range weights; the first magnetic-tile INT8 file (full 8-bit weights, chosen on the GPU box's CPU) agreed "
        "with FP32 on 99.6% of val verdicts there but on 83.6% here, its scores off by up to 0.99. With 7-bit weights nothing "
        f"can saturate: the synthetic-line file gives the same val verdicts on both CPUs. Calibration: {met['calibration']['images']} images from "
        f"{'the train split' if met['calibration']['from'] == 'train split' else 'the calibration seeds (training side)'}, "
        "preprocessed by the daemon's preprocessing (above), normalised as model.json says. Kept in float "
        f"({', '.join('`' + e + '`' for e in ch['excluded'])}): the head tail (both sigmoids, the score's pooling/concat/Gemm "
        "and the map's final 1x1 conv), so neither probability is ever squeezed through an 8-bit scale"
        + ("; and the stem conv (1 input channel, 2% of the MACs), because keeping it float measured better (table)"
           if any("trunk.0" in e for e in ch["excluded"]) else "") + ".\n")
    L.append(f"Calibration method chosen by measurement: **{ch['method']}** (float kept: {ch['float_kept']}). Every candidate, "
             f"each with its own threshold by the same rule (measured on {a.quantize_host}):\n")
    L.append("| method | float kept | threshold | agreement | AUROC FP32 | AUROC INT8 | score err max / mean | map err max / mean |")
    L.append("|---|---|---|---|---|---|---|---|")
    for c in met["candidates"]:
        L.append(f"| {c['method']} | {c['float_kept']} | {c['threshold']:.4f} | {pct(c['verdict_agreement'])} | {c['fp32']['auroc']:.4f} | "
                 f"{c['int8']['auroc']:.4f} | {c['pred_score_err']['max']:.3f} / {c['pred_score_err']['mean']:.4f} | "
                 f"{c['anomaly_map_err']['max']:.3f} / {c['anomaly_map_err']['mean']:.5f} |")
    if not any(c["method"] == "entropy" for c in met["candidates"]) and txt.get("entropy_note"):
        L.append("\n" + txt["entropy_note"])
    L.append("\n(`entropy` is ORT's KL calibrator given TensorRT's 2048-bin histogram; `percentile` keeps the 99.999th, "
             "`percentile9999` the 99.99th percentile of |x|.)\n")
    L.append("## CPU latency (onnxruntime-node, this machine)\n")
    L.append(f"`bench/model-latency.ts`: {lat['cpu']}, {lat['cores']} logical cores, node {lat['node']}; {lat['warmup']} warm-up runs, "
             f"then the median of {lat['runs']} single-image runs (p10-p90 in brackets), intra-op threads 1 and all.\n")
    L.append("| precision | threads | median ms | p10-p90 ms |")
    L.append("|---|---|---|---|")
    rows = [x for x in lat["rows"] if x["model"] == spec["name"]]
    for x in rows:
        L.append(f"| {x['precision']} | {x['threads']} | {x['medianMs']:.2f} | {x['p10Ms']:.2f}-{x['p90Ms']:.2f} |")
    for th in sorted({x["threads"] for x in rows}):
        f = next(x for x in rows if x["precision"] == "fp32" and x["threads"] == th)
        q = next(x for x in rows if x["precision"] == "int8" and x["threads"] == th)
        L.append(f"\nINT8 vs FP32 at {th} thread(s): **{f['medianMs'] / q['medianMs']:.2f}x**.")
    L.append(
        "\n**The 2x INT8 target is missed on this machine.** Its CPU (AMD EPYC, 2 vCPU) exposes AVX2 and FMA but no AVX-512 "
        "and no VNNI (`/proc/cpuinfo`), so ONNX Runtime's int8 convolutions run on the AVX2 `vpmaddubsw` path, which is no "
        "faster than its FP32 FMA convolutions for these layer shapes, and the symmetric QDQ form adds a float "
        "DequantizeLinear/Relu/QuantizeLinear between layers (ORT folds ReLU into a Q only when the zero point is the type's "
        "minimum, i.e. asymmetric). Measured alternatives on this CPU: the asymmetric u8 form ORT prefers was also slower "
        "than FP32 (11.2 vs 9.3 ms at 1 thread, untrained net of the same shape). The INT8 file is the one to deploy on "
        "TensorRT or a VNNI CPU; on this CPU, `--precision fp32` is faster at the same verdicts.\n")
    L.append("## Files\n")
    L.append("| file | bytes | sha256 |")
    L.append("|---|---|---|")
    for fn in ["model.onnx", "model.int8.onnx", "model.json", "metrics.json", "train-log.json"]:
        p = os.path.join(a.dst, fn)
        if os.path.exists(p):
            L.append(f"| {fn} | {os.path.getsize(p):,} | `{sha256(p)}` |")
    L.append("\nONNX: opset 17, static batch 1, input `input` float32 [1,1,H,W] normalised as model.json says; outputs exactly "
             "`pred_score` and `anomaly_map`. `metrics.json` holds every number above plus the val scores; `train-log.json` the "
             "training arguments and per-epoch losses.\n")
    L.append("## Reproduce\n")
    L.append("```sh")
    L.append(f"tools/model/pipeline.sh all {name}   # data -> train (CUDA) -> quantize -> install -> card")
    L.append("```")
    where = (f"`data` and `train` on the lent {ver.get('gpu')} (node carried there to run the renderer)" if name == "synthetic-line"
             else f"`data` here (the export needs the daemon's OpenCV binding), `train` on the lent {ver.get('gpu')} (the .npz carried there)")
    L.append(f"Seed {ar['seed']}. Here the stages ran as: {where}, `quantize` "
             f"on {a.quantize_host}, `install` + `card` here. "
             "GPU training is deterministic up to CUDA's non-deterministic backward of max-pooling; the files above are the "
             "ones that run produced. Versions: "
             f"torch {ver['torch']}, onnx {ver['onnx']}, onnxruntime {ver['onnxruntime']} (training box), onnxruntime-node 1.30.0 (here).\n")
    if name == "magnetic-tile":
        L.append("Cite: Y. Huang, C. Qiu, K. Yuan, \"Surface defect saliency of magnetic tile\", The Visual Computer 36, 85-96 (2020).\n")
    open(os.path.join(a.dst, "CARD.md"), "w").write("\n".join(L) + "\n")
    print(f"wrote {a.dst}/CARD.md")


if __name__ == "__main__":
    main()
