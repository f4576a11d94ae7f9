#!/usr/bin/env python3
"""Writes a corpus folder as JSON lines for `tantivy index` (scripts/bench.sh):
one document a file ({"title": path, "body": text}), or with --paragraphs one
a blank-line paragraph."""

import json
import os
import sys


def main():
    corpus = sys.argv[1]
    per_paragraph = "--paragraphs" in sys.argv[2:]
    out = sys.stdout
    for folder, _, names in sorted(os.walk(corpus)):
        for name in sorted(names):
            if not name.endswith((".md", ".txt")):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            bodies = [p for p in text.split("\n\n") if p.strip()] if per_paragraph else [text]
            for body in bodies:
                out.write(json.dumps({"title": path, "body": body}) + "\n")


if __name__ == "__main__":
    main()
