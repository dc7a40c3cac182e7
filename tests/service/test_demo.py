"""`referee service-demo`: the service end to end on the embedded default (SQLite in the user's data dir)."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from referee_testdb import in_ci
from service_helpers import REFEREE

from referee.service.auditing import engine_status


def test_service_demo_on_the_sqlite_default(tmp_path):
    ok, why = engine_status()
    if not ok:
        if in_ci():
            pytest.fail(why)
        pytest.skip(why)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFEREE_")}
    env.update({"XDG_DATA_HOME": str(tmp_path / "data"), "COLUMNS": "160"})
    first = subprocess.run([REFEREE, "service-demo"], env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "data" / "referee" / "referee.sqlite3").is_file()  # the embedded default
    rows = re.findall(r"│ (\d+) +│ (\w+) +│ (\S+\.py) +│ (\w+) +│", first.stdout)
    assert len(rows) >= 20, first.stdout
    # every example was stored, audited to the end and shown (whether the engine is right about each one is
    # tests/submissions' business; test_worker.py checks real verdicts flow through the service unchanged)
    assert {verdict for *_, verdict in rows} <= {"PASS", "FLAG", "FAIL", "DEGRADED"}, first.stdout
    assert "FAIL" in {verdict for *_, verdict in rows}
    assert len({audit_id for audit_id, *_ in rows}) == len(rows)
