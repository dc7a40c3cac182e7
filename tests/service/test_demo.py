"""`referee service-demo`: the service end to end on the embedded default (SQLite in the user's data dir)."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from conftest import REFEREE
from referee_testdb import in_ci

from referee.service.auditing import engine_status


def test_service_demo_on_the_sqlite_default_is_repeatable(tmp_path):
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
    verdicts = {name: verdict for _, _, name, verdict in rows}
    assert all(verdicts[name] == "FAIL" for name in verdicts if name.startswith("cheat_")), verdicts
    assert all(verdicts[name] != "FAIL" for name in verdicts if name.startswith("honest_")), verdicts
    again = subprocess.run([REFEREE, "service-demo"], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0
    # idempotency keys: the second run re-uses the stored audits
    assert re.findall(r"│ (\d+) +│ (\w+) +│ (\S+\.py) +│ (\w+) +│", again.stdout) == rows
