#!/usr/bin/env bash
# `make demo`: the main job of each part of referee on bundled data, on the embedded default (SQLite).
# Each step prints its verdicts; a FLAG/FAIL exit code is the expected outcome on the cheating examples.
set -u
BIN=.venv/bin
OUT="${REFEREE_DEMO_OUT:-$(mktemp -d -t referee-demo-XXXXXX)}"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "sandbox: isolation layers on this machine"
$BIN/referee sandbox-info

step "loopholes: hack x mode self-check (every hack pays only in its own mode; the oracle cannot be forged)"
$BIN/referee loopholes selfcheck || echo "self-check reported off cells"

step "loopholes: grade bundled completions (honest, hacks, look-alikes, one broken line) -> $OUT/rewards.jsonl"
$BIN/referee loopholes grade examples/loopholes/completions.jsonl --out "$OUT/rewards.jsonl" || true

step "submissions: audit one cheating submission (static rules + sandboxed probes)"
$BIN/referee audit src/referee/submissions/examples/vectoradd_py/submissions/cheat_ptr_cache.py \
  --task vectoradd_py || true

step "submissions: audit every bundled vectoradd submission -> $OUT/audits.jsonl"
$BIN/referee audit-batch src/referee/submissions/examples/vectoradd_py/submissions --task vectoradd_py \
  --out "$OUT/audits.jsonl" || true

if [ -x scripts/bench_demo.sh ]; then
  step "bench: re-derive benchmark claims from raw runs"
  bash scripts/bench_demo.sh "$OUT" || true
fi

step "service: database, queue, workers, admin API and review page (a temporary SQLite database) with the bundled tasks"
$BIN/referee service-demo || true

printf '\nOutputs are in %s\n' "$OUT"
