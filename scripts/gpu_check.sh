#!/usr/bin/env bash
# Issue 10 item 8, prepared for a session that is lent a GPU: one short run, everything it needs is in the tree.
#
# Before (on the workstation, which can fetch): collect the third-party task files once, and carry them along:
#   python benchmarks/gpu_audit.py collect --mirror <git dir of gpu-mode/reference-kernels>
#   run(command="bash scripts/gpu_check.sh", carry=["benchmarks/data/gpu_audit"], timeout_s=540)
# It prints the machine (GPU, driver, torch, CUDA, triton, nvcc), then benchmarks/gpu_audit.py's table: the public
# pmpp_v2 correct/wrong solutions and referee's own GPU cheats and honest look-alikes, expected vs verdict and
# seconds per audit; the rows as JSON go to $OUT/gpu_audit.json. Exit 0 all as expected, 1 some differ,
# 3 DEGRADED (no usable CUDA, or referee cannot be imported there: said on stdout), 4 nothing collected.
set -u
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in .venv/bin/python python3 python; do
    if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
  done
fi
OUT="${OUT:-$(mktemp -d)}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
echo "# gpu_check $(date -u +%FT%TZ) python=$PY"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: none"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'usable', torch.cuda.is_available())" 2>&1 | tail -1
"$PY" -c "import triton; print('triton', triton.__version__)" 2>&1 | tail -1
for tool in nvcc ninja gcc; do printf '%s: %s\n' "$tool" "$(command -v "$tool" || echo none)"; done
if ! "$PY" -c "import referee.submissions.audit" 2>/dev/null; then
  echo "DEGRADED: referee does not import with $PY (missing dependencies on this machine):"
  "$PY" -c "import referee.submissions.audit" 2>&1 | tail -1
  exit 3
fi
"$PY" benchmarks/gpu_audit.py run --collected "${COLLECTED:-benchmarks/data/gpu_audit}" \
  --out "$OUT/gpu_audit.json" --timeout "${AUDIT_TIMEOUT:-120}"
status=$?
echo "gpu_check: exit $status (0 as expected, 1 some differ, 3 DEGRADED, 4 nothing collected)"
exit $status
