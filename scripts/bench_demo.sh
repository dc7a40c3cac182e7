#!/usr/bin/env bash
# Benchmark-claim audits over the bundled example legs: one PASS, FLAGs and FAILs, plus an HTML report.
set -u
BIN=.venv/bin
OUT="${1:-.}"
EX=src/referee/bench/examples
run() { echo "\$ referee bench $*"; $BIN/referee bench "$@"; echo "exit=$?"; }
run baseline --ref $EX/baseline_noisy/ref
run patch --ref $EX/patch_pass/ref --cand $EX/patch_pass/cand
run patch --ref $EX/patch_flag_isolated/ref --cand $EX/patch_flag_isolated/cand
run bundle --ref $EX/bundle_fail_p1/validation/base --cand $EX/bundle_fail_p1/validation/final --html "$OUT/bench_report.html"
run harness --ref $EX/harness_fail/served
echo "HTML report: $OUT/bench_report.html"
# the real-format regression set: legs written field for field as SGLang / vLLM write them, vs an auditor's verdicts
echo "\$ python -m referee.bench.realformat.scenarios"
$BIN/python -m referee.bench.realformat.scenarios | tail -1
# usage and I/O errors have their own exit codes (4, 5), never a verdict
run patch --ref $EX/patch_pass/reff --cand $EX/patch_pass/cand
