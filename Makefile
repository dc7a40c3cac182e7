# referee: `make demo` sets everything up and runs the main job on bundled data; `make test` runs the WHOLE suite
# (it starts a scratch PostgreSQL and says what is missing instead of skipping: scripts/test.sh).
PY ?= $(shell python3 -c 'import os,sys;print(os.path.realpath(sys.executable))')
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv demo test lint bench clean

$(BIN)/referee: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "torch==2.13.0" || $(BIN)/pip install -q "torch>=2.1"
	$(BIN)/pip install -q -e ".[dev,ray,trl]"
	@[ -x "$${REFEREE_CHROMIUM:-/usr/bin/chromium}" ] || echo "note: the browser tests need Chromium at /usr/bin/chromium (apt-get install chromium)" >&2
	touch $(BIN)/referee

venv: $(BIN)/referee

demo: venv
	bash scripts/demo.sh

test: venv
	bash scripts/test.sh

lint: venv
	$(BIN)/ruff check src tests benchmarks

bench: venv
	$(BIN)/python benchmarks/grade_throughput.py
	$(BIN)/python benchmarks/audit_speed.py
	$(BIN)/python benchmarks/static_rules_speed.py
	$(BIN)/python benchmarks/service_load.py
	$(BIN)/python benchmarks/bench_audit_scale.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
