#!/usr/bin/env python3
"""The bm25s peer of `scripts/bench.sh`: indexes the same corpus (blank-line
paragraphs of its .md/.txt files) and answers the same questions one at a time,
tokenising each (English stop words, Snowball stemmer), top 3. Prints the
microseconds per question.

    python3 scripts/bm25s_peer.py CORPUS_DIR QUESTIONS_FILE
"""

import os
import sys
import time

import bm25s
import Stemmer


def paragraphs(corpus):
    out = []
    for folder, _, names in os.walk(corpus):
        for name in sorted(names):
            if name.endswith((".md", ".txt")):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    out.extend(p.strip() for p in f.read().split("\n\n") if p.strip())
    return out


def main():
    corpus, questions_file = sys.argv[1], sys.argv[2]
    docs = paragraphs(corpus)
    with open(questions_file, encoding="utf-8") as f:
        questions = [q.strip() for q in f if q.strip()]
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(docs, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    k = min(3, len(docs))
    answered = 0
    started = time.perf_counter()
    for q in questions:
        tokens = bm25s.tokenize([q], stopwords="en", stemmer=stemmer, show_progress=False)
        results, _ = retriever.retrieve(tokens, k=k, show_progress=False)
        answered += len(results[0])
    elapsed = time.perf_counter() - started
    print(f"{elapsed / len(questions) * 1e6:.1f}")
    print(f"bm25s: {len(docs)} passages, {len(questions)} questions, {answered} results", file=sys.stderr)


if __name__ == "__main__":
    main()
