"""Python twin of tools/model/export-dataset.ts for the magnetic-tile set (fallback and cross-check).

Reads ../shared/data/magnetic-tile/<split>/<CLASS>/*.jpg + masks, resizes each grayscale image to the
model input as the daemon's resizeForModel does for a GRAY 'stretch' input (INTER_AREA when
shrinking both ways, else INTER_LINEAR),
binarises the mask at >= 128 and resizes it the same way (kept soft, 0..255), and writes
<out>/<split>.npz with images [N,H,W] u8, masks [N,H,W] u8, labels [N] (1 = defect),
mask_valid [N] (0 for a defect image whose mask is empty), classes [N], paths [N].
"""
import argparse
import csv
import os

import cv2
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default="../shared/data/magnetic-tile")
    ap.add_argument("--out", default=".train/magnetic-tile")
    ap.add_argument("--width", type=int, default=224)
    ap.add_argument("--height", type=int, default=224)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rows = list(csv.DictReader(open(os.path.join(a.root, "manifest.csv"))))
    for split in ("train", "val"):
        sel = [r for r in rows if r["split"] == split]
        n = len(sel)
        imgs = np.zeros((n, a.height, a.width), np.uint8)
        masks = np.zeros((n, a.height, a.width), np.uint8)
        labels = np.zeros(n, np.uint8)
        valid = np.ones(n, np.uint8)
        for i, r in enumerate(sel):
            im = cv2.imread(os.path.join(a.root, r["path"]), cv2.IMREAD_GRAYSCALE)
            mk = cv2.imread(os.path.join(a.root, r["mask_path"]), cv2.IMREAD_GRAYSCALE)
            # resizeForModel: INTER_AREA when shrinking in both directions, else INTER_LINEAR
            h0, w0 = im.shape
            interp = cv2.INTER_AREA if (a.width <= w0 and a.height <= h0) else cv2.INTER_LINEAR
            imgs[i] = cv2.resize(im, (a.width, a.height), interpolation=interp)
            mk = np.where(mk >= 128, 255, 0).astype(np.uint8)
            masks[i] = cv2.resize(mk, (a.width, a.height), interpolation=interp)
            labels[i] = 1 if r["label"] == "defect" else 0
            if labels[i] and mk.max() == 0:
                valid[i] = 0
        np.savez_compressed(
            os.path.join(a.out, f"{split}.npz"),
            images=imgs, masks=masks, labels=labels, mask_valid=valid,
            classes=np.array([r["class"] for r in sel]), paths=np.array([r["path"] for r in sel]),
        )
        print(split, n, "defect", int(labels.sum()), "empty-mask defects", int((valid == 0).sum()))


if __name__ == "__main__":
    main()
