#!/usr/bin/env python3
"""The risk/coverage curve of the verdict's confidence, from `citebot eval --dump` files:
for each threshold, the share of answerable questions answered, of unanswerable ones
declined, and of answered answerable ones whose top passage is wrong.

    python3 scripts/quality/curve.py DUMP.jsonl [DUMP.jsonl ...]
"""
import json
import sys

records = [json.loads(l) for path in sys.argv[1:] for l in open(path) if l.strip()]
pos = [(r["confidence"] if not r["objections"] else -1, bool(r["hits"] and r["hits"][0]["relevant"]))
       for r in records if r["answerable"]]
neg = [r["confidence"] if not r["objections"] else -1 for r in records if not r["answerable"]]
print("| threshold | answered | declined (unanswerable) | wrong top among answered |")
print("|---|---|---|---|")
for t in [0.55, 0.6, 0.65, 0.68, 0.71, 0.74, 0.77, 0.8, 0.85]:
    answered = [right for c, right in pos if c >= t]
    declined = sum(c < t for c in neg) / len(neg) if neg else float("nan")
    print(f"| {t:.2f} | {len(answered) / len(pos):.3f} | {declined:.3f} | {1 - sum(answered) / max(1, len(answered)):.3f} |")
