"""ONNX Runtime in Python as a peer of test/gpu/frame-verdicts.test.ts on the GPU machine.

That machine has the onnxruntime Python package (1.30.0, the version of the onnxruntime-node that
the daemon uses); carrying onnxruntime-node's 45 MB library there does not fit one device call.
Protocol on stdin/stdout, one request at a time: a JSON line {"name", "dims", "bytes"} followed by
the float32 tensor's bytes; the answer is a JSON line [{"name", "dims", "type", "bytes"}, ...]
followed by each output's bytes in that order.

    python3 bench/gpu/ort-peer.py MODEL.onnx
"""
import json
import sys

import numpy as np
import onnxruntime as ort

options = ort.SessionOptions()
options.intra_op_num_threads = 4
session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
names = [o.name for o in session.get_outputs()]
inp, out = sys.stdin.buffer, sys.stdout.buffer
out.write((json.dumps({"ready": ort.__version__, "providers": session.get_providers()}) + "\n").encode())
out.flush()
while True:
    line = inp.readline()
    if not line:
        break
    head = json.loads(line)
    x = np.frombuffer(inp.read(head["bytes"]), dtype=np.float32).reshape(head["dims"])
    results = [np.ascontiguousarray(r) for r in session.run(None, {head["name"]: x})]
    meta = [{"name": n, "dims": list(r.shape), "type": str(r.dtype), "bytes": r.nbytes} for n, r in zip(names, results)]
    out.write((json.dumps(meta) + "\n").encode())
    for r in results:
        out.write(r.tobytes())
    out.flush()
