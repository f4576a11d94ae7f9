#!/usr/bin/env python3
"""BM25 (bm25s, Snowball, English stop words) over citebot's own passages of each document in
tests/eval/other: the peer the other-document targets of issue 22 compare with. The passages are
the ones `citebot passages` prints, so both rank the same units.

    python3 scripts/bm25_other.py [CITEBOT]   # CITEBOT: the binary, default target/release/citebot
"""
import glob
import json
import subprocess
import sys

import bm25s
import Stemmer

citebot = sys.argv[1] if len(sys.argv) > 1 else "target/release/citebot"
for folder in sorted(glob.glob("tests/eval/other/*/")):
    files = sorted(glob.glob(folder + "corpus/*"))
    printed = subprocess.run([citebot, "passages", *files], capture_output=True, text=True).stdout
    # Each passage: a blank line, its citation line, then its text.
    passages = ["\n".join(b.split("\n")[1:]) for b in printed.split("\n\n")[1:] if "\n" in b and not b.startswith("citations:")]
    stemmer = Stemmer.Stemmer("english")
    tokenize = lambda texts: bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    bm25 = bm25s.BM25()
    bm25.index(tokenize(passages), show_progress=False)
    h1 = h3 = n = 0
    for line in open(folder + "questions.jsonl"):
        q = json.loads(line)
        if not q["answerable"]:
            continue
        n += 1
        docs, _ = bm25.retrieve(tokenize([q["question"]]), k=10, show_progress=False)
        ranks = [i for i, d in enumerate(docs[0]) if any(a.lower() in passages[d].lower() for a in q["answers"])]
        if ranks:
            h1 += ranks[0] < 1
            h3 += ranks[0] < 3
    print(f"{folder}: {len(passages)} passages, {n} answerable, BM25 Hit@1 {h1 / n:.3f} Hit@3 {h3 / n:.3f}")
