#!/usr/bin/env python3
"""The verdict's threshold ([search] min_confidence) against the article's question sets by
kind: answerable, off-topic and near-topic (QUALITY.md, "The threshold, chosen again").

    python3 scripts/quality/threshold.py target/quick/citebot /tmp/threshold

For every set it runs `citebot eval --dump` twice: as configured, for the questions declined
whatever the score (unfinished search syntax, greetings), and with the second model asked for
every question and the thresholds open, for each question's score before the threshold (the
semantic stage's confidence plus the second opinion as `[search] second_opinion_*` weigh it).
Then the table: the twelfth and thirteenth sets (never fitted on before, the threshold's fitting
data) and the eleven before them. No numpy needed.
"""
import json
import os
import subprocess
import sys

import ask_always

BINARY, OUT = sys.argv[1], sys.argv[2]
WEIGHT, PIVOT, LOW, HIGH = 2.149, 0.685, 0.561, 0.861  # [search] second_opinion_*
SHIPPED = 0.66  # [search] min_confidence, the threshold the configured run uses
EARLIER = ["dev", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
           "tenth", "eleventh"]
CHOSEN_ON = ["twelfth", "thirteenth"]
THRESHOLDS = [0.56, 0.60, 0.62, 0.64, 0.66, 0.68, 0.70, 0.71, 0.74]

open_config = ask_always.write(OUT)


def dump(name, questions, config):
    path = os.path.join(OUT, f"{name}.{'open' if config else 'as-configured'}.jsonl")
    if not os.path.exists(path):
        env = {**os.environ, **({"CITEBOT_CONFIG": config} if config else {})}
        subprocess.run([BINARY, "eval", questions, "--corpus", "corpus", "--index",
                        os.path.join(OUT, "index"), "-k", "10", "--dump", path], env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {r["id"]: r for r in map(json.loads, open(path))}


def rows(name):
    questions = "../shared/eval/dev-questions.jsonl" if name == "dev" else f"tests/eval/{name}-questions.jsonl"
    configured, scored = dump(name, questions, None), dump(name, questions, open_config)
    for question in map(json.loads, open(questions)):
        row = scored[question["id"]]
        opinion = row["second_similarity"]
        score = row["confidence"]
        if opinion is not None:
            score = ask_always.semantic_confidence(row) + WEIGHT * (min(max(opinion, LOW), HIGH) - PIVOT)
        # Declined by the configured run though its score clears the threshold: declined
        # whatever the score.
        always_declined = not configured[question["id"]]["answered"] and score >= SHIPPED
        if question["answerable"]:
            kind = "answerable"
        elif question.get("kind") in (None, "neartopic", "faq"):
            kind = "near-topic"
        else:
            kind = "off-topic"  # including greetings, gibberish and unfinished syntax
        yield kind, score, always_declined


def cells(sets, threshold):
    right, count = {}, {}
    for name in sets:
        for kind, score, always_declined in rows(name):
            answered = score >= threshold and not always_declined
            count[kind] = count.get(kind, 0) + 1
            right[kind] = right.get(kind, 0) + (answered if kind == "answerable" else not answered)
    return [f"{right[k]} of {count[k]} ({right[k] / count[k]:.3f})"
            for k in ("answerable", "off-topic", "near-topic")]


print("| threshold | twelfth + thirteenth: answered | off-topic declined | near-topic declined "
      "| dev to eleventh: answered | off-topic declined | near-topic declined |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for threshold in THRESHOLDS:
    print(f"| {threshold:.2f} | " + " | ".join(cells(CHOSEN_ON, threshold) + cells(EARLIER, threshold)) + " |")
