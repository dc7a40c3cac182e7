"""Secrets never on a command line, never in a report; settings from one documented place (issue 8, item 5)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from referee_testdb import sqlite_url
from service_helpers import ADMIN_TOKEN, REFEREE, base_env
from test_api import _register
from test_worker import _audit, _submit

from referee.service.settings import Settings, settings_table, sync_doc

DOCS = Path(__file__).resolve().parents[2] / "docs" / "service.md"


def test_settings_table_in_the_docs_is_generated_from_the_settings_class(tmp_path):
    copy = tmp_path / "service.md"
    copy.write_text(DOCS.read_text(encoding="utf-8"), encoding="utf-8")
    assert not sync_doc(copy), "docs/service.md is out of date: run python -m referee.service.settings docs/service.md"
    for name in Settings.model_fields:
        assert f"`REFEREE_{name.upper()}`" in settings_table()


def test_secrets_come_from_the_environment_or_a_file(tmp_path, monkeypatch):
    for name in ("REFEREE_ADMIN_TOKEN", "REFEREE_DATABASE_URL", "REFEREE_SUBMIT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name + "_FILE", raising=False)
    secret = tmp_path / "admin_token"
    secret.write_text("from-a-file-0123456789\n")
    url_file = tmp_path / "db_url"
    url_file.write_text("postgresql://referee:s3cret-pw@db.internal/referee\n")
    monkeypatch.setenv("REFEREE_ADMIN_TOKEN_FILE", str(secret))
    monkeypatch.setenv("REFEREE_DATABASE_URL_FILE", str(url_file))
    monkeypatch.setenv("REFEREE_SUBMIT_TOKEN", "submit-from-env-123")
    settings = Settings.from_env()
    assert settings.admin_token == "from-a-file-0123456789"
    assert settings.database_url == "postgresql+psycopg://referee:s3cret-pw@db.internal/referee"
    assert sorted(settings.secrets()) == sorted(["from-a-file-0123456789", "submit-from-env-123", "s3cret-pw"])
    assert "s3cret" not in repr(settings) and "from-a-file" not in repr(settings)
    monkeypatch.setenv("REFEREE_ADMIN_TOKEN", "also-in-env-0123456789")
    with pytest.raises(ValueError, match="REFEREE_ADMIN_TOKEN and REFEREE_ADMIN_TOKEN_FILE are both set"):
        Settings.from_env()
    monkeypatch.delenv("REFEREE_ADMIN_TOKEN")
    monkeypatch.setenv("REFEREE_ADMIN_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="REFEREE_ADMIN_TOKEN_FILE: cannot read"):
        Settings.from_env()


def test_a_bad_value_names_the_variable_but_never_shows_a_secret(monkeypatch):
    monkeypatch.setenv("REFEREE_MAX_ATTEMPTS", "0")
    monkeypatch.setenv("REFEREE_UI_SESSION_S", "soon")
    with pytest.raises(ValueError) as caught:
        Settings.from_env()
    assert "REFEREE_MAX_ATTEMPTS" in str(caught.value) and "REFEREE_UI_SESSION_S" in str(caught.value)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_database_url_on_the_command_line_is_refused(tmp_path, command):
    url = "postgresql://referee:hunter2-pw@127.0.0.1:1/referee"
    result = subprocess.run([REFEREE, command, "--database-url", url], env=base_env(sqlite_url(tmp_path)),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 4, result.stderr
    assert "--database-url is no longer accepted" in result.stderr and "--database-url-file" in result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_database_url_file_is_used_and_wins_over_the_environment(tmp_path):
    url_file = tmp_path / "url"
    url_file.write_text("postgresql://nobody:pw-in-file@127.0.0.1:1/none\n")
    result = subprocess.run([REFEREE, "worker", "--database-url-file", str(url_file), "--auditor",
                             "service_auditors:marker_auditor"], env=base_env(sqlite_url(tmp_path)),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3 and "cannot use the database" in result.stderr, result.stderr
    assert "127.0.0.1" in result.stderr and "pw-in-file" not in result.stderr


def test_job_provoked_errors_and_found_secrets_never_reach_the_submitter(server):
    """A job that read the worker's token and database URL and printed them, or made the service raise with them
    in the message: the public audit shows neither, the operator's view has the error with the secrets scrubbed."""
    with server.client(admin=True) as admin:
        task = _register(admin)
    printed = _submit(server, task, "x = 'print what you found'\n")
    raised = _submit(server, task, "x = 'RAISE with what you found'\n")
    worker_env = {"REFEREE_ADMIN_TOKEN": ADMIN_TOKEN}
    worker = server.start_worker("--auditor", "service_auditors:leaky_auditor", "--drain", "--retry-seconds", "0",
                                 "--poll-seconds", "0.05", env=worker_env)
    assert worker.wait(timeout=120) == 0
    with server.client() as public:
        shown = public.get(f"/audits/{printed}").json()
        failed = public.get(f"/audits/{raised}").json()
    assert shown["status"] == "done" and any(f["rule"] == "test-leak" for f in shown["findings"])
    assert failed["status"] == "error" and failed["error"].startswith("the audit could not be completed")
    operator = _audit(server, raised)
    assert "RuntimeError: could not connect with [redacted]" in operator["error"]
    stored = str(_audit(server, printed)) + str(operator) + str(shown) + str(failed)
    assert ADMIN_TOKEN not in stored and "[redacted]" in str(shown)
