#!/usr/bin/env python3
"""Fits the verdict's second opinion ([search] second_opinion_*, QUALITY.md "The second
opinion") from citebot's own dumps, and shows what it does on sets left out.

    python3 scripts/quality/fit_second_opinion.py target/quick/citebot /tmp/second

For every set it runs `citebot eval --dump` with a configuration that asks the second model
for every question (its weight 100 and pivot 0 over the range [-1, 1], the thresholds open),
so that each row has the semantic stage's confidence (the dump's confidence less 100 times
the opinion) and the opinion. Then, on the ten article sets from dev to tenth: a logistic
regression of answerable on (confidence, opinion); the opinion's weight in confidence units;
the threshold that answers 97 % of their answerable questions; the opinion's range, its 5th
to 95th percentile on them; and the pivot that keeps min_confidence (0.71) the threshold.
Each set left out in turn, and the other documents and the eleventh set, show the same rule
fitted without them. Needs numpy.
"""
import json
import os
import subprocess
import sys

import numpy as np

import ask_always

BINARY, OUT = sys.argv[1], sys.argv[2]
ARTICLE = ["dev", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
SETS = {s: ("corpus", f"tests/eval/{s}-questions.jsonl") for s in ARTICLE[1:] + ["eleventh"]}
SETS["dev"] = ("corpus", "../shared/eval/dev-questions.jsonl")
for name, folder in [("normans", "outside/normans"), ("sky", "outside/sky"),
                     ("sockets", "other/python-sockets"), ("unicode", "other/python-unicode")]:
    SETS[name] = (f"tests/eval/{folder}/corpus", f"tests/eval/{folder}/questions.jsonl")
MIN_CONFIDENCE, SHARE, PERCENTILE = 0.71, 0.97, 5

config = ask_always.write(OUT)
rows = {}
for name, (corpus, questions) in SETS.items():
    dump = os.path.join(OUT, name + ".jsonl")
    if not os.path.exists(dump):
        index = os.path.join(OUT, "index-" + corpus.replace("/", "-"))
        subprocess.run([BINARY, "eval", questions, "--corpus", corpus, "--index", index, "-k", "10",
                        "--dump", dump], env={**os.environ, "CITEBOT_CONFIG": config},
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows[name] = [(ask_always.semantic_confidence(r), r["second_similarity"], r["answerable"])
                  for r in map(json.loads, open(dump)) if r["second_similarity"] is not None]


def fit(sets):
    data = np.array([r for s in sets for r in rows[s]], float)
    x, y = data[:, :2], data[:, 2]
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    w = np.zeros(3)
    for _ in range(2000):
        w -= 0.1 * (z.T @ (1 / (1 + np.exp(-z @ w)) - y) / len(y) + 1e-2 * w)
    weight = (w[1] / sd[1]) / (w[0] / sd[0])
    low, high = np.percentile(x[:, 1], [PERCENTILE, 100 - PERCENTILE])
    scores = np.sort(x[y == 1, 0] + weight * np.clip(x[y == 1, 1], low, high))
    threshold = scores[int((1 - SHARE) * len(scores))]
    return weight, (threshold - MIN_CONFIDENCE) / weight, low, high


def apply(rule, name):
    weight, pivot, low, high = rule
    data = np.array(rows[name], float)
    pivot = np.clip(pivot, low, high)
    score = data[:, 0] + weight * (np.clip(data[:, 1], low, high) - pivot)
    answered, answerable = score >= MIN_CONFIDENCE, data[:, 2] == 1
    asked = (data[:, 0] + weight * (low - pivot) >= MIN_CONFIDENCE) != (
        data[:, 0] + weight * (high - pivot) >= MIN_CONFIDENCE)
    return answered[answerable].mean(), (~answered[~answerable]).mean(), asked.mean()


rule = fit(ARTICLE)
print("fitted on the ten: weight %.3f pivot %.3f range [%.3f, %.3f]" % rule)
left_out = np.array([apply(fit([s for s in ARTICLE if s != out]), out) for out in ARTICLE])
print("each left out in turn: answered %.3f, declined %.3f, second model asked %.2f" % tuple(left_out.mean(0)))
for name in ["eleventh", "normans", "sky", "sockets", "unicode"]:
    print("%-9s answered %.3f, declined %.3f, second model asked %.2f" % ((name,) + apply(rule, name)))
