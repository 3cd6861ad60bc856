"""Why the candidate stage misses truth boxes: for each train box no candidate box (the model's box
rule applied to the raw blob box) reaches at IoU > 0.33, whether its board was unregistered, no blob
touches it at all, or a blob touches it and also another truth box (merged neighbours) or only it
(box the wrong size). Reads extract-patches' OUT.boards.json; train groups only.

  python3 tools/template/recall_misses.py --dir .train/aoi2 --groups group00041,... [--pad 4 --min 28]
"""
import argparse
import collections
import json


def iou(a, b):
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    i = ix * iy
    return i / (a[2] * a[3] + b[2] * b[3] - i) if i > 0 else 0.0


ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--groups", required=True)
ap.add_argument("--pad", type=float, default=4)
ap.add_argument("--min", type=float, default=28)
a = ap.parse_args()


def box(b):
    # src/inspect/template/stage.ts candidateBox
    cw, ch = max(b[2] + 2 * a.pad, a.min), max(b[3] + 2 * a.pad, a.min)
    return [b[0] + b[2] / 2 - cw / 2, b[1] + b[3] / 2 - ch / 2, cw, ch]


why = collections.Counter()
truths = 0
for g in a.groups.split(","):
    for b in json.load(open(f"{a.dir}/{g}.boards.json"))["boards"]:
        truths += len(b["truth"])
        if not b["registered"]:
            why["unregistered", "all"] += len(b["truth"])
            continue
        boxes = [box(r) for r in b["boxes"]]
        for t in b["truth"]:
            if max([iou(t["box"], x) for x in boxes] or [0]) > 0.33:
                continue
            touching = [x for x in boxes if iou(t["box"], x) > 0]
            if not touching:
                why["no blob", t["label"]] += 1
            elif any(u is not t and any(iou(u["box"], x) > 0 for x in touching) for u in b["truth"]):
                why["merged with a neighbour", t["label"]] += 1
            else:
                why["box the wrong size", t["label"]] += 1
print(json.dumps({"truths": truths, "missed": sum(why.values()), "why": {f"{k[0]} / {k[1]}": v for k, v in why.most_common()}}, indent=1))
