"""Out-of-fold probabilities weighed by the topology cell, as the daemon's decoder does
(src/decode/patch-classifier.ts), for choosing decoder.topology.weight on train only.

Per train patch, the cell of src/inspect/template/topology.ts (8-connected copper pieces, grey <= 127,
and gaps, tested against reference, over the 48x48 window); for each held-out group the cell table is
counted on the OTHER train groups, add-one smoothed, and p(c) * (P(cell|c) / P(cell))^weight renormalised.

  python3 tools/template/topology_oof.py --dir .train/aoi --groups group00041,... --oof OOF.json --weights 0.25,0.5,0.75,1 [--side 48]
Writes OOF-topo<weight>.json (for tools/template/crossval.ts) and prints the table of all groups (model.json's counts).
"""
import argparse
import json

import numpy as np
from scipy import ndimage

EIGHT = np.ones((3, 3))


def cell(patch):
    pieces = lambda m: ndimage.label(m, structure=EIGHT)[1]
    t = patch[0] > 127
    r = patch[1] > 127
    copper = int(np.sign(pieces(~t) - pieces(~r)))
    gaps = int(np.sign(pieces(t) - pieces(r)))
    return (copper + 1) * 3 + (gaps + 1)


ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--groups", required=True)
ap.add_argument("--oof", required=True)
ap.add_argument("--weights", default="0.25,0.5,0.75,1")
# --side: the model's window when the patches were cut larger (extract-patches --input): the cell is
# counted over the centre side x side, as the daemon counts it over the model's own window.
ap.add_argument("--side", type=int, default=0)
# --cells K: take the cells from extract-patches --topology-variants (<group>.cells.json), variant K
# (0-based; "daemon": the stage's own cell as model.json counts it); writes OOF-topo<w>-v<K>.json.
ap.add_argument("--cells", default=None)
a = ap.parse_args()
groups = a.groups.split(",")


def window(patches):
    o = (patches.shape[-1] - a.side) // 2 if a.side else 0
    return patches[:, :, o:o + a.side, o:o + a.side] if a.side else patches


def cells_of(g):
    if a.cells is None:
        return np.array([cell(p) for p in window(np.load(f"{a.dir}/{g}.patches.npy"))])
    c = json.load(open(f"{a.dir}/{g}.cells.json"))
    return np.array(c["daemon"] if a.cells == "daemon" else c["cells"][int(a.cells)])


cells = {g: cells_of(g) for g in groups}
suffix = "" if a.cells is None else f"-v{a.cells}"
labels = {g: np.load(f"{a.dir}/{g}.labels.npy") for g in groups}
oof = json.load(open(a.oof))
for w in [float(x) for x in a.weights.split(",")]:
    out = {}
    for g in groups:
        cnt = np.ones((7, 9))
        for h in groups:
            if h != g:
                np.add.at(cnt, (labels[h], cells[h]), 1)
        lik = cnt / cnt.sum(1, keepdims=True)
        marg = cnt.sum(0) / cnt.sum()
        q = np.array(oof[g]) * (lik[:, cells[g]].T / marg[cells[g]][:, None]) ** w
        out[g] = (q / q.sum(1, keepdims=True)).tolist()
    json.dump(out, open(a.oof.replace(".json", f"-topo{w:g}{suffix}.json"), "w"))
table = np.zeros((7, 9), int)
for g in groups:
    np.add.at(table, (labels[g], cells[g]), 1)
print(json.dumps(table.tolist()))
