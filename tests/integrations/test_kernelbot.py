"""kernelbot integration: leaderboards registered as tasks from a reference-kernels competition file, and
submissions the backend could not deliver before a restart (or a crash) delivered after it, exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from service_helpers import ADMIN_TOKEN, free_port, start_server, wait_for
from typer.testing import CliRunner

from referee.cli import app
from referee.client import AuditClient
from referee.integrations.kernelbot import CompetitionError, competition_tasks
from referee.submissions.task import bundled_tasks_dir

CODE = "def custom_kernel(data):\n    a, b = data\n    return a + b  # {}\n"


@pytest.fixture
def problems_dir(tmp_path):
    """The bundled examples are a reference-kernels problems/ folder; add a competition file the kernelbot way."""
    root = bundled_tasks_dir()
    competition = tmp_path / "demo.yaml"
    competition.write_text(yaml.safe_dump({"name": "demo", "deadline": "", "description": "", "problems": [
        {"directory": str(root / "vectoradd_py"), "name": "vectoradd_v2", "deadline": "2100-12-31", "gpus": ["L4"]},
        {"directory": str(root / "softmax_py"), "name": "softmax_v2", "deadline": "2100-12-31", "gpus": ["L4"]},
    ]}))
    return root, competition


def test_register_leaderboards_as_tasks(tmp_path, problems_dir, monkeypatch):
    root, competition = problems_dir
    service = start_server(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "serve.log", REFEREE_REGISTER_BUNDLED="0")
    try:
        monkeypatch.setenv("REFEREE_ADMIN_TOKEN", ADMIN_TOKEN)
        args = ["kernelbot-tasks", str(root), "--competition", str(competition), "--url", service.url, "--json"]
        first = CliRunner().invoke(app, args)
        assert first.exit_code == 0, first.output
        assert [r["outcome"] for r in json.loads(first.stdout)] == ["created", "created"]
        again = CliRunner().invoke(app, args)  # re-running after a task.yml change updates; unchanged stays
        assert again.exit_code == 0 and {r["name"] for r in json.loads(again.stdout)} == {"vectoradd_v2",
                                                                                           "softmax_v2"}
        with service.client(admin=True) as admin:
            names = {t["name"] for t in admin.get("/admin/tasks").json()["tasks"]}
            files = admin.get("/admin/tasks/vectoradd_v2").json()["task"]["files"]
        assert {"vectoradd_v2", "softmax_v2"} <= names
        assert {"task.yml", "reference.py", "utils.py", "task.py"} <= set(files)
    finally:
        service.stop()


def test_bad_competition_and_bad_token_are_clear(tmp_path, problems_dir, monkeypatch):
    root, _ = problems_dir
    bad = tmp_path / "bad.yaml"
    bad.write_text("problems: [{name: x}]\n")
    with pytest.raises(CompetitionError, match="needs `name` and `directory`"):
        competition_tasks(root, bad)
    monkeypatch.setenv("REFEREE_ADMIN_TOKEN", "wrong")
    result = CliRunner().invoke(app, ["kernelbot-tasks", str(root), "--url", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code == 3 and "error" in result.output


def _audits(service):
    with service.client(admin=True) as admin:
        return admin.get("/admin/audits", params={"limit": 200}).json()["audits"]


def test_undelivered_submissions_survive_a_restart(tmp_path):
    """Service down; the backend submits, then shuts down (close) - and then a second run crashes (os._exit)
    before delivering. The next backend start delivers both, each exactly once, under its kernelbot key."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    spool = tmp_path / "referee-outbox.sqlite"
    client = AuditClient(url, spool=spool, max_retry_delay_s=0.2)
    for sub_id in (1, 2, 3):
        assert client.submit("vectoradd_py", CODE.format(sub_id), user_id="u", leaderboard="vectoradd_py",
                             file_name="sub.py", key=f"kernelbot-{sub_id}")
    assert client.close(timeout_s=0.5) == 3  # undelivered at shutdown: reported, kept in the spool

    crash = textwrap.dedent(f"""
        import os
        from referee.client import AuditClient
        c = AuditClient({url!r}, spool={str(spool)!r}, max_retry_delay_s=0.2)
        c.submit("vectoradd_py", {CODE.format(4)!r}, key="kernelbot-4")
        os._exit(0)  # killed before anything was delivered: no close(), no atexit
    """)
    subprocess.run([sys.executable, "-c", crash], check=True, timeout=60, env={**os.environ})

    service = start_server(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "serve.log", port=port,
                           REFEREE_REGISTER_BUNDLED="0")
    try:
        with service.client(admin=True) as admin:
            files = {n: (bundled_tasks_dir() / "vectoradd_py" / n).read_text() for n in
                     ("task.yml", "reference.py", "task.py")} | {"utils.py": (bundled_tasks_dir() / "utils.py")
                                                                 .read_text()}
            assert admin.post("/admin/tasks", json={"name": "vectoradd_py", "files": files}).status_code in (200, 201)
        restarted = AuditClient(url, spool=spool, max_retry_delay_s=0.2)
        wait_for(lambda: restarted.pending == 0, 30, what="the spooled submissions to be delivered")
        # and once more, as if the backend restarted again right after delivering: nothing left to send
        assert restarted.close(timeout_s=5) == 0
        again = AuditClient(url, spool=spool)
        assert again.pending == 0
        again.close()
        audits = _audits(service)
    finally:
        service.stop()
    codes = sorted(a.get("submission_id") or a["id"] for a in audits)
    assert len(audits) == 4 and len(set(codes)) == 4  # 3 from the clean shutdown, 1 from the crash, no duplicate


PATCH = Path(__file__).resolve().parents[2] / "examples" / "kernelbot" / "kernelbot-4bdd839.patch"


def _new_file(patch: str, path: str) -> str:
    """The full text of a file the unified diff creates (its '+' lines)."""
    section = patch.split(f"+++ b/{path}\n", 1)[1].split("\ndiff --git", 1)[0]
    return "\n".join(line[1:] for line in section.splitlines()[1:] if line.startswith("+")) + "\n"


def test_the_kernelbot_patch_hook(tmp_path, monkeypatch):
    """The hook the patch adds to kernelbot, loaded with stand-ins for kernelbot's consts/utils modules and run
    against a real service: a leaderboard run is audited once (same sub_id twice -> one audit), a test run is not."""
    import enum
    import logging
    import types

    patch = PATCH.read_text()
    assert "+                audit_submission(sub_id, req, mode)" in patch  # the one call, after mark_submission_done
    consts = types.ModuleType("libkernelbot.consts")
    consts.SubmissionMode = enum.Enum("SubmissionMode", {"TEST": "test", "BENCHMARK": "benchmark",
                                                         "PROFILE": "profile", "LEADERBOARD": "leaderboard",
                                                         "PRIVATE": "private"})
    utils = types.ModuleType("libkernelbot.utils")
    utils.setup_logging = logging.getLogger
    for name, module in {"libkernelbot": types.ModuleType("libkernelbot"), "libkernelbot.consts": consts,
                         "libkernelbot.utils": utils}.items():
        monkeypatch.setitem(sys.modules, name, module)
    hook = types.ModuleType("libkernelbot.referee_hook")
    exec(compile(_new_file(patch, "src/libkernelbot/referee_hook.py"), "referee_hook.py", "exec"), hook.__dict__)

    service = start_server(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "serve.log", REFEREE_REGISTER_BUNDLED="0")
    try:
        monkeypatch.setenv("REFEREE_URL", service.url)
        monkeypatch.setenv("REFEREE_SPOOL", str(tmp_path / "outbox.sqlite"))
        with service.client(admin=True) as admin:
            files = {n: (bundled_tasks_dir() / "vectoradd_py" / n).read_text()
                     for n in ("task.yml", "reference.py", "task.py")}
            files["utils.py"] = (bundled_tasks_dir() / "utils.py").read_text()
            assert admin.post("/admin/tasks", json={"name": "vectoradd_v2", "files": files}).status_code == 201
        req = types.SimpleNamespace(leaderboard="vectoradd_v2", code=CODE.format(7), user_id=42, file_name="s.py")
        Mode = consts.SubmissionMode
        hook.audit_submission(7, req, Mode.LEADERBOARD)
        hook.audit_submission(7, req, Mode.LEADERBOARD)  # a retried call for the same kernelbot submission
        hook.audit_submission(8, req, Mode.TEST)
        client = hook._audit_client()
        wait_for(lambda: client.pending == 0 and client.stats.sent == 2, 30, what="delivery")
        client.close()
        audits = _audits(service)
    finally:
        service.stop()
    assert len(audits) == 1 and audits[0]["user_id"] == "42" and audits[0]["leaderboard"] == "vectoradd_v2"
