#!/usr/bin/env python3
"""Checks citebot's tokenizer and encoder against independent implementations.

Reads the JSON lines of `cargo run --release --example embed` and compares,
line by line: the token ids with the `tokenizers` library's (must be equal);
the vectors with a numpy forward pass over the original f32 weights (cosine
near 1: the shipped weights are f16) and with the int8 ONNX export under
onnxruntime (cosine near 1 less quantisation error).

    pip install tokenizers numpy safetensors onnxruntime
    python3 scripts/check-embeddings.py ORIGINAL_MODEL_DIR [ONNX_FILE] < vectors.jsonl
"""
import json
import math
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

model_dir = sys.argv[1]
onnx_path = sys.argv[2] if len(sys.argv) > 2 else None
tok = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
tok.no_truncation()
tok.no_padding()
W = load_file(f"{model_dir}/model.safetensors")
cfg = json.load(open(f"{model_dir}/config.json"))
H, heads = cfg["hidden_size"], cfg["num_attention_heads"]


def ln(x, name):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + 1e-12) * W[name + ".weight"] + W[name + ".bias"]


def lin(x, name):
    return x @ W[name + ".weight"].T + W[name + ".bias"]


erf = np.vectorize(math.erf)


def forward(ids):
    n = len(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:n] + W["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, "embeddings.LayerNorm")
    d = H // heads
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (lin(x, p + "attention.self." + s).reshape(n, heads, d).transpose(1, 0, 2) for s in ("query", "key", "value"))
        s = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        c = (s @ v).transpose(1, 0, 2).reshape(n, H)
        x = ln(x + lin(c, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        m = lin(x, p + "intermediate.dense")
        m = 0.5 * m * (1 + erf(m / math.sqrt(2)))
        x = ln(x + lin(m, p + "output.dense"), p + "output.LayerNorm")
    e = x.mean(0)
    return e / np.linalg.norm(e)


session = None
if onnx_path:
    import onnxruntime

    session = onnxruntime.InferenceSession(onnx_path)

bad_ids, cos_np, cos_onnx, n = 0, [], [], 0
for line in sys.stdin:
    r = json.loads(line)
    ids = tok.encode(r["text"]).ids[:256]
    if len(ids) == 256:
        ids[-1] = ids[-1] if ids[-1] == 102 else 102
    n += 1
    if ids != r["ids"]:
        bad_ids += 1
        if bad_ids <= 5:
            print("ids differ:", r["text"][:80], ids[:20], r["ids"][:20], file=sys.stderr)
        continue
    ours = np.array(r["vector"], dtype=np.float32)
    cos_np.append(float(ours @ forward(np.array(ids))))
    if session:
        a = np.array([ids], dtype=np.int64)
        h = session.run(None, {"input_ids": a, "attention_mask": np.ones_like(a), "token_type_ids": np.zeros_like(a)})[0][0].mean(0)
        cos_onnx.append(float(ours @ (h / np.linalg.norm(h))))
print(f"{n} texts; token ids differ on {bad_ids}")
print(f"cosine with the numpy f32 pass: min {min(cos_np):.6f}, mean {np.mean(cos_np):.6f}")
if cos_onnx:
    print(f"cosine with the int8 ONNX export: min {min(cos_onnx):.6f}, mean {np.mean(cos_onnx):.6f}")
sys.exit(1 if bad_ids else 0)
