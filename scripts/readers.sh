#!/usr/bin/env bash
# Reader throughput (MB/s of source) beside well-known extractors on the same
# files: citebot's readers (examples/read.rs: parse and split) against
# pdftotext (poppler-utils) and html2text. Needs: apt-get install poppler-utils html2text.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --profile quick --example read -q
files=(tests/formats/*.html tests/formats/*.pdf)
target/quick/examples/read "${files[@]}"
for f in "${files[@]}"; do
    case "$f" in
        *.pdf) tool=(pdftotext -q "$f" -) ;;
        *) tool=(html2text "$f") ;;
    esac
    runs=20
    start=$(date +%s.%N)
    for _ in $(seq $runs); do "${tool[@]}" > /dev/null; done
    end=$(date +%s.%N)
    size=$(stat -c %s "$f")
    awk -v f="$f" -v t="${tool[0]}" -v s="$size" -v a="$start" -v b="$end" -v n="$runs" \
        'BEGIN { per = (b - a) / n; printf "%s: %s %.1f ms a read, %.2f MB/s (process start included)\n", f, t, per * 1e3, s / 1e6 / per }'
done
