#!/usr/bin/env bash
# What each answer-quality mechanism is worth: `citebot eval` on the dev questions and the three
# sets in tests/eval, with everything on, then with one mechanism switched off at a time (through
# a config file, or a corpus without its synonym file). QUALITY.md holds a run's output.
#
#   scripts/ablation.sh
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
CITEBOT=target/release/citebot
WORK=target/ablation
rm -rf "$WORK"
mkdir -p "$WORK/bare-corpus"
# The corpus less its synonym file: the article's own acronyms are still mined.
find corpus -maxdepth 1 -type f ! -name synonyms.csv -exec cp {} "$WORK/bare-corpus/" \;

SETS=(../shared/eval/dev-questions.jsonl tests/eval/second-questions.jsonl tests/eval/third-questions.jsonl
    tests/eval/fourth-questions.jsonl)

# variant NAME CORPUS [CONFIG LINE...]
variant() {
    local name=$1 corpus=$2
    shift 2
    printf '[search]\n' > "$WORK/$name.toml"
    [[ $# -gt 0 ]] && printf '%s\n' "$@" >> "$WORK/$name.toml"
    "$CITEBOT" index --corpus "$corpus" --index "$WORK/index-$name" > /dev/null
    for set in "${SETS[@]}"; do
        CITEBOT_CONFIG="$WORK/$name.toml" "$CITEBOT" eval "$set" --corpus "$corpus" \
            --index "$WORK/index-$name" |
            awk -v name="$name" -v set="$(basename "$set" -questions.jsonl)" \
                '$1 == "all" { printf "| %s | %s | %s | %s | %s | %s | %s |\n", name, set, $3, $4, $6, $7, $8 }'
    done
}

echo "| variant | set | Hit@1 | Hit@3 | MRR@10 | answered | abstained |"
echo "|---|---|---|---|---|---|---|"
variant everything corpus
variant no-synonym-file "$WORK/bare-corpus"
variant no-expansions corpus "expansion_weight = 0.0"
variant no-typo-correction corpus "fuzzy_weight = 0.0"
variant no-coverage corpus "weight_coverage = 0.0"
variant no-proximity corpus "weight_proximity = 0.0"
variant no-definition corpus "weight_definition = 0.0"
variant no-intent corpus "weight_intent = 0.0"
variant no-bare-label corpus "weight_bare_label = 0.0"
variant bm25-only corpus "weight_coverage = 0.0" "weight_proximity = 0.0" \
    "weight_definition = 0.0" "weight_intent = 0.0" "weight_bare_label = 0.0"
variant no-abstention corpus "min_known_share = 0.0" "min_coverage = 0.0" "generic_share = 1.0"
