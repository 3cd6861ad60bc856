"""Join several inspectd FP32 models (tools/model/net.py exports) into one ONNX graph that averages them.

Why: trained on a few hundred tiles, one network's ranking of the good tiles nearest the defects
changes a lot with the seed and the recipe (val AUROC 0.979-0.996 across the issue-13 sweep), and
those few tiles decide the false rejects at an escape-averse threshold. The mean of several
networks' logits varies less. Each member keeps its own graph (names prefixed m0_, m1_, ...), all
read the same `input`; the score and map logits (the inputs of each member's two Sigmoids) are
averaged and one Sigmoid each gives `pred_score` [1,1] and `anomaly_map` [1,1,h,w], so the daemon
sees the same two outputs as from one network. Members must share the input normalisation
(train.json mean/std) and the map size.

  python3 ensemble.py --out model.onnx --train-json OUT/train.json run1 run2 run3
(each run folder holds train.py's model.onnx and train.json; OUT/train.json gets the first member's
input block and the members' train.json, so select_int8.py can read it)
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import onnx
from onnx import compose, helper, numpy_helper

OUTPUTS = ("pred_score", "anomaly_map")


def logit_of(g: onnx.GraphProto, output: str) -> str:
    """The tensor a member's output Sigmoid reads (its logit)."""
    for n in g.node:
        if n.op_type == "Sigmoid" and n.output[0] == output:
            return n.input[0]
    raise SystemExit(f"no Sigmoid producing {output}")


def join(paths: list[str]) -> onnx.ModelProto:
    members = []
    for k, p in enumerate(paths):
        m = compose.add_prefix(onnx.load(p), prefix=f"m{k}_", rename_inputs=False)
        members.append(m)
    g0 = members[0].graph
    nodes, inits, value_info = [], [], []
    logits = {o: [] for o in OUTPUTS}
    for k, m in enumerate(members):
        g = m.graph
        drop = set()
        for o in OUTPUTS:
            z = logit_of(g, f"m{k}_{o}")
            logits[o].append(z)
            drop |= {n.name for n in g.node if n.op_type == "Sigmoid" and n.output[0] == f"m{k}_{o}"}
        nodes += [n for n in g.node if n.name not in drop]
        inits += list(g.initializer)
        value_info += list(g.value_info)
    inv = numpy_helper.from_array(np.array(1.0 / len(members), np.float32), "ensemble_inv_n")
    inits.append(inv)
    for o in OUTPUTS:
        nodes += [
            helper.make_node("Sum", logits[o], [f"ensemble_{o}_sum"], name=f"/ensemble/{o}/Sum"),
            helper.make_node("Mul", [f"ensemble_{o}_sum", "ensemble_inv_n"], [f"ensemble_{o}_logit"], name=f"/ensemble/{o}/Mul"),
            helper.make_node("Sigmoid", [f"ensemble_{o}_logit"], [o], name=f"/ensemble/{o}/Sigmoid"),
        ]
    outputs = []
    for o in OUTPUTS:
        vi = next(v for v in g0.output if v.name == f"m0_{o}")
        v = onnx.ValueInfoProto()
        v.CopyFrom(vi)
        v.name = o
        outputs.append(v)
    graph = helper.make_graph(nodes, "inspectd_ensemble", list(g0.input), outputs, inits, value_info=value_info)
    model = helper.make_model(graph, opset_imports=members[0].opset_import, producer_name="inspectd tools/model/ensemble.py")
    model.ir_version = members[0].ir_version
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--train-json", required=True)
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args()
    infos = [json.load(open(os.path.join(r, "train.json"))) for r in a.runs]
    for r, i in zip(a.runs, infos):
        if i["input"] != infos[0]["input"]:
            raise SystemExit(f"{r}: input {i['input']} differs from {a.runs[0]}'s {infos[0]['input']}")
    onnx.save(join([os.path.join(r, "model.onnx") for r in a.runs]), a.out)
    json.dump({
        "input": infos[0]["input"],
        "ensemble": [{"run": os.path.basename(os.path.normpath(r)), "args": i["args"], "params": i["params"], "macs": i["macs"],
                      "train_time_s": i["train_time_s"], "device": i["device"], "torch": i["torch"], "log": i["log"]} for r, i in zip(a.runs, infos)],
        "params": sum(i["params"] for i in infos),
        "macs": sum(i["macs"] for i in infos),
        "train_images": infos[0]["train_images"],
        "train_defect": infos[0]["train_defect"],
        "log": [],
    }, open(a.train_json, "w"), indent=1)
    print(f"{len(a.runs)} members -> {a.out}")


if __name__ == "__main__":
    main()
