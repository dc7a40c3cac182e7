#!/usr/bin/env bash
# The main job of each part on bundled data, on the embedded default (SQLite in the user's data dir).
set -u
BIN=.venv/bin
echo "== referee: sandbox isolation on this machine"
$BIN/referee sandbox-info || true
