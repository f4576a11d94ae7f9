#!/usr/bin/env bash
# What each answer-quality mechanism is worth: `citebot eval` on the eight article sets and the
# two other-document sets in tests/eval/outside (each its own corpus), with everything on, then
# with one mechanism switched off at a time (through a config file, `CITEBOT_MODEL=off`, or an
# article corpus without its synonym file). QUALITY.md holds a run's output.
#
#   scripts/ablation.sh            (CITEBOT=path/to/binary to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${CITEBOT:-}" ]]; then
    cargo build --release --quiet
    CITEBOT=target/release/citebot
fi
WORK=target/ablation
rm -rf "$WORK"
mkdir -p "$WORK/bare-corpus"
# The corpus less its synonym file: the article's own acronyms are still mined.
find corpus -maxdepth 1 -type f ! -name synonyms.csv -exec cp {} "$WORK/bare-corpus/" \;

ARTICLE_SETS=(../shared/eval/dev-questions.jsonl tests/eval/second-questions.jsonl
    tests/eval/third-questions.jsonl tests/eval/fourth-questions.jsonl tests/eval/fifth-questions.jsonl
    tests/eval/sixth-questions.jsonl tests/eval/seventh-questions.jsonl tests/eval/eighth-questions.jsonl)
OUTSIDE=(normans sky)

row() {
    awk -v name="$1" -v set="$2" \
        '$1 == "all" { printf "| %s | %s | %s | %s | %s | %s | %s |\n", name, set, $3, $4, $6, $7, $8 }'
}

# variant NAME ARTICLE_CORPUS MODEL [CONFIG LINE...]
variant() {
    local name=$1 corpus=$2 model=$3
    shift 3
    printf '[search]\n' > "$WORK/$name.toml"
    [[ $# -gt 0 ]] && printf '%s\n' "$@" >> "$WORK/$name.toml"
    export CITEBOT_CONFIG="$WORK/$name.toml" CITEBOT_MODEL="$model"
    for set in "${ARTICLE_SETS[@]}"; do
        "$CITEBOT" eval "$set" --corpus "$corpus" --index "$WORK/index-$name" 2> /dev/null |
            row "$name" "$(basename "$set" -questions.jsonl)"
    done
    for doc in "${OUTSIDE[@]}"; do
        "$CITEBOT" eval "tests/eval/outside/$doc/questions.jsonl" --corpus "tests/eval/outside/$doc/corpus" \
            --index "$WORK/index-$name-$doc" 2> /dev/null | row "$name" "$doc"
    done
    unset CITEBOT_CONFIG CITEBOT_MODEL
}

SHIPPED=models/all-MiniLM-L6-v2
echo "| variant | set | Hit@1 | Hit@3 | MRR@10 | answered | abstained |"
echo "|---|---|---|---|---|---|---|"
variant everything corpus "$SHIPPED"
variant no-synonym-file "$WORK/bare-corpus" "$SHIPPED"
variant no-greetings corpus "$SHIPPED" "greetings = false"
variant no-passage-similarity corpus "$SHIPPED" "weight_similarity = 0.0"
variant no-sentence-similarity corpus "$SHIPPED" "weight_sentence_similarity = 0.0"
variant no-model-candidates corpus "$SHIPPED" "semantic_candidates = 0"
variant no-coverage corpus "$SHIPPED" "weight_coverage = 0.0"
variant no-model corpus off
variant no-abstention corpus "$SHIPPED" "min_confidence = -10.0"
