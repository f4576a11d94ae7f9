#!/bin/bash
# usage: dump.sh TAG  (env passes config)
set -e
B=/work/main/target/quick/citebot
T=${1:-base}
mkdir -p ${FIT:-/tmp/fit}/$T
run() { # name corpus questions
  $B eval "$3" --corpus "$2" --index ${FIT:-/tmp/fit}/ix-$1 -k 30 --dump ${FIT:-/tmp/fit}/$T/$1.jsonl > ${FIT:-/tmp/fit}/$T/$1.txt 2>${FIT:-/tmp/fit}/$T/$1.err
}
run dev corpus ../shared/eval/dev-questions.jsonl &
run second corpus tests/eval/second-questions.jsonl
wait
run third corpus tests/eval/third-questions.jsonl &
run fourth corpus tests/eval/fourth-questions.jsonl
wait
run normans /tmp/outside/Normans/corpus /tmp/outside/Normans/questions.jsonl &
run sky "/tmp/outside/Sky_(United_Kingdom)/corpus" "/tmp/outside/Sky_(United_Kingdom)/questions.jsonl"
wait
