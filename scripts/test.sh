#!/usr/bin/env bash
# `make test`: the WHOLE suite, as CI runs it, on any machine. It checks first for what the tests need and says what
# is missing (instead of skipping), starts a scratch PostgreSQL with scripts/pg.sh unless REFEREE_TEST_PG_URL names
# one (and stops it again if it started it), and runs pytest with skips counted as failures (tests/conftest.py).
#   scripts/test.sh [pytest args...]      e.g. scripts/test.sh tests/service -x
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY_VENV:-.venv/bin/python}"
CHROMIUM="${REFEREE_CHROMIUM:-/usr/bin/chromium}"

missing=()
[[ -x "$PY" ]] || missing+=("the virtual env .venv (run: make venv)")
[[ -x "$CHROMIUM" ]] || missing+=("Chromium at $CHROMIUM, for the review-page browser tests (Debian: apt-get install chromium)")
if [[ -x "$PY" ]] && ! "$PY" -c "import playwright.sync_api" 2>/dev/null; then
  missing+=("the playwright Python package (run: make venv)")
fi
if [[ -z "${REFEREE_TEST_PG_URL:-}" ]] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [[ -z "${REFEREE_PG_BIN:-}" ]]; then
  missing+=("PostgreSQL server binaries, for the PostgreSQL tests (Debian: apt-get install postgresql; or set REFEREE_TEST_PG_URL)")
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "make test: cannot run the whole suite; missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  echo "(.ci/run installs all of it on Debian; '.venv/bin/pytest tests/<part>' runs a part without these checks)" >&2
  exit 4
fi

if [[ -z "${REFEREE_TEST_PG_URL:-}" ]]; then
  started=0
  bash scripts/pg.sh status >/dev/null 2>&1 || started=1
  REFEREE_TEST_PG_URL="$(bash scripts/pg.sh start | tail -n 1)"
  export REFEREE_TEST_PG_URL
  if [[ "$started" -eq 1 ]]; then trap 'bash scripts/pg.sh stop >/dev/null || true' EXIT; fi
fi

export REFEREE_NO_SKIPS=1
set +e
"$PY" -m pytest -q "$@"
status=$?
set -e
[[ "$status" -eq 5 ]] && echo "pytest collected no tests" >&2
exit "$status"
