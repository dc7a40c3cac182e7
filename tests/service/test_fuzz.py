"""schemathesis against a live `referee serve`: no 5xx, and every answer as /openapi.json declares it.

A smaller budget than a release run (`scripts/fuzz_service.py -n 300`), sized for CI time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fuzz_service.py"


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch():
    result = subprocess.run([sys.executable, str(SCRIPT), "-n", "25"], capture_output=True, text=True, timeout=600)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    assert "fuzz: no check failed" in out and "server log: 0 unhandled error(s)" in out
    generated = [line.split() for line in out.splitlines() if "generated," in line and "passed" in line]
    assert generated and int(generated[-1][0]) >= 200, out[-3000:]  # it really exercised the API
    assert generated[-1][2] == generated[-1][0], generated[-1]  # every generated case passed
