"""The CLI contract (docs/cli.md), run against the installed `referee` in real subprocesses: exit codes, errors
without tracebacks, outputs checked first and never lost, Ctrl-C, pipes, readable evidence, SARIF roots."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from referee import clikit, rulebook
from referee.bench.examples import make

REFEREE = str(Path(sys.executable).with_name("referee"))
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = Path(make.__file__).resolve().parent
HONEST = ROOT / "src/referee/submissions/examples/prefixsum_py/submissions/honest_cumsum.py"
CHEAT = rulebook.get("RPL001").example  # the rule's own documented cheat: fires statically
STOP_LIMIT_S = 20  # a hang detector, not a timing: finishing the cancelled work would take minutes


def referee(*args: object, cwd: Path | None = None, stdin: str | None = None,
            **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REFEREE, *map(str, args)], capture_output=True, text=True, timeout=180, cwd=cwd, input=stdin,
                          env={**os.environ, "REFEREE_LLM_API_KEY": "", "OPENROUTER_API_KEY": "", **env})


def test_exit_codes_are_distinct_from_verdicts_and_documented():
    codes = [clikit.EXIT_PASS, clikit.EXIT_FLAG, clikit.EXIT_FAIL, clikit.EXIT_DEGRADED, clikit.EXIT_USAGE,
             clikit.EXIT_IO, clikit.EXIT_INTERRUPTED]
    assert len(set(codes)) == len(codes) and codes[:4] == [0, 1, 2, 3]
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in ("EXIT_PASS", "EXIT_FLAG", "EXIT_FAIL", "EXIT_DEGRADED", "EXIT_USAGE", "EXIT_IO", "EXIT_INTERRUPTED"):
        assert f"| {getattr(clikit, name)} | `{name}` |" in doc
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "4 usage error, 5 an output could not be written, 130 interrupted" in readme


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a.py").write_text(HONEST.read_text())
    return subs


@pytest.mark.parametrize("args", [
    ["audit", "missing.py", "--no-dynamic"],
    ["audit", "{folder}", "--no-dynamic"],  # a folder given as the file
    ["audit-batch", "{folder}", "--jobs", "abc"],  # a bad option value
    ["audit-batch", "{folder}", "--jobs", "0"],
    ["audit-batch", "{folder}/a.py"],  # a file given as the folder
    ["bench", "rules", "--scope", "harnes"],  # an unknown scope: an error, not an empty list
    ["bench", "patch", "--ref", str(EXAMPLES / "patch_pass/ref")],  # a scope without its required leg
    ["loopholes", "grade", "missing.jsonl", "--out", "{folder}/o.jsonl"],
    ["loopholes", "selfcheck", "-s", "no-such-sample"],
    ["rules", "NOPE01"],
    ["rules", "--bogus"],
    ["worker", "-o", "dynamc=false"],  # a misspelt audit option: refused, not silently ignored
])
def test_usage_errors_have_their_own_code_and_no_traceback(folder, args):
    result = referee(*[a.replace("{folder}", str(folder)) for a in args], REFEREE_DATABASE_URL="sqlite://")
    assert result.returncode == clikit.EXIT_USAGE, (result.returncode, result.stderr[-2000:])
    assert result.stderr.strip() and "Traceback" not in result.stderr + result.stdout


def test_api_mode_keeps_exit_0_for_verdicts_but_not_for_usage_errors():
    cheat = referee("audit", "--api-mode", stdin=CHEAT)
    assert cheat.returncode == 0 and json.loads(cheat.stdout.splitlines()[-1])["verdict"] == "FAIL"
    for args in (["--task", "no_such_task"], ["--bogus"]):  # the fast path and the full CLI agree
        wrong = referee("audit", "--api-mode", *args, stdin=CHEAT)
        assert wrong.returncode == clikit.EXIT_USAGE and "Traceback" not in wrong.stderr, wrong.stderr


def test_unwritable_outputs_are_refused_before_any_work(folder, tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "out.jsonl"
    batch = referee("audit-batch", folder, "--no-dynamic", "--out", missing)
    assert batch.returncode == clikit.EXIT_IO and "does not exist" in batch.stderr
    assert "auditing" not in batch.stderr and not missing.parent.exists()
    graded = referee("loopholes", "grade", folder / "a.py", "--out", tmp_path)  # a folder as the output file
    assert graded.returncode == clikit.EXIT_IO and "is a directory" in graded.stderr
    html = referee("bench", "patch", "--ref", EXAMPLES / "patch_pass/ref", "--cand", EXAMPLES / "patch_pass/cand",
                   "--html", missing.with_suffix(".html"))
    assert html.returncode == clikit.EXIT_IO and "Traceback" not in html.stderr


def test_a_failed_output_does_not_lose_the_report(tmp_path):
    sarif = tmp_path / "r.sarif"
    result = referee("bench", "patch", "--ref", EXAMPLES / "patch_fail_confound/ref", "--cand",
                     EXAMPLES / "patch_fail_confound/cand", "--html", "/dev/full", "--sarif", sarif, "--json")
    assert result.returncode == clikit.EXIT_IO and "could not write --html /dev/full" in result.stderr
    assert json.loads(result.stdout)["verdict"] == "FAIL"  # the report is still printed...
    assert json.loads(sarif.read_text())["runs"][0]["results"]  # ...and the other output still written


def test_piping_into_head_keeps_the_exit_code():
    full = referee("rules", "--json")
    assert full.returncode == 0 and len(full.stdout) > 1 << 17  # far more than a pipe buffer holds
    proc = subprocess.Popen([REFEREE, "rules", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.read(100)
    proc.stdout.close()  # what `| head -c 100` does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and b"Traceback" not in err and b"Broken pipe" not in err


def _interrupt(cmd: list[str], out: Path, after_lines: int) -> tuple[subprocess.CompletedProcess[str], float]:
    """Start `cmd` in its own process group, press Ctrl-C (SIGINT to the group) once `out` has lines."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "REFEREE_LLM_API_KEY": ""})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and len(out.read_text().splitlines()) >= after_lines:
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the batch ended before it could be interrupted"
    pressed = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr), time.monotonic() - pressed


def _written(stderr: str) -> tuple[int, int]:
    match = re.search(r"interrupted: (\d+) of (\d+) finished record\(s\) written", stderr)
    assert match, stderr[-2000:]
    return int(match.group(1)), int(match.group(2))


def test_ctrl_c_stops_audit_batch_and_keeps_every_finished_record(tmp_path):
    subs = tmp_path / "many"
    subs.mkdir()
    text = HONEST.read_text()
    for i in range(800):
        (subs / f"s{i:04d}.py").write_text(text)
    out = tmp_path / "audits.jsonl"
    result, took = _interrupt([REFEREE, "audit-batch", str(subs), "--no-dynamic", "-j", "2", "--out", str(out)],
                              out, after_lines=5)
    assert result.returncode == clikit.EXIT_INTERRUPTED and took < STOP_LIMIT_S, result.stderr[-2000:]
    written, total = _written(result.stderr)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert total == 800 and 5 <= written == len(lines) < 800  # queued audits were cancelled, not run
    assert all(line["verdict"] == "PASS" for line in lines) and "Traceback" not in result.stderr


def test_ctrl_c_stops_loopholes_grade_and_keeps_every_finished_record(tmp_path):
    listing = json.loads(referee("loopholes", "problems", "--json").stdout)
    problem = listing[0]["id"]
    completions = tmp_path / "completions.jsonl"
    quick = "```python\nprint(1)\n```"
    slow = "```python\nimport time\ntime.sleep(5)\n```"  # each takes its full run: grading all would take minutes
    rows = [{"problem_id": problem, "completion": quick if i < 4 else slow, "n": i} for i in range(120)]
    completions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "rewards.jsonl"
    result, took = _interrupt([REFEREE, "loopholes", "grade", str(completions), "--out", str(out), "-j", "2"],
                              out, after_lines=4)
    assert result.returncode == clikit.EXIT_INTERRUPTED and took < STOP_LIMIT_S, result.stderr[-2000:]
    written, total = _written(result.stderr)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert total == 120 and 4 <= written == len(records) < 120
    assert [r["n"] for r in records] == list(range(written))  # in input order, none half-written
    assert "Traceback" not in result.stderr


def test_evidence_is_never_cut_and_80_columns_get_the_compact_layout(tmp_path):
    name = "a-very-long-submission-name-that-pushes-its-location-past-sixty-characters-" * 2 + "[red]x.py"
    cheat = tmp_path / name  # the brackets are text, not markup
    cheat.write_text(CHEAT)
    narrow = referee("audit", cheat, "--no-dynamic", COLUMNS="80")
    wide = referee("audit", cheat, "--no-dynamic", COLUMNS="220")
    assert narrow.returncode == wide.returncode == clikit.EXIT_FAIL, narrow.stderr[-2000:]
    lines = [f for f in json.loads(referee("audit", cheat, "--no-dynamic", "--json").stdout)["findings"]
             if f["rule"] == "RPL001"]
    where = f"{name}:{lines[0]['line']}"
    assert f"at {where}" in narrow.stdout and "RPL001" in narrow.stdout and "┃" not in narrow.stdout
    assert where in wide.stdout.replace("\n", "")
    assert all(len(line) <= 80 for line in narrow.stdout.splitlines() if name not in line)
    medium = tmp_path / ("m" * 64 + ".py")  # past the old 60-character cut, short enough for the table
    medium.write_text(CHEAT)
    table = referee("audit", medium, "--no-dynamic", COLUMNS="220").stdout
    assert "┃" in table and f"{medium.name}:{lines[0]['line']}" in table


def test_audit_batch_names_the_files_it_skipped(folder):
    (folder / "dangling.py").symlink_to(folder / "gone.py")
    os.mkfifo(folder / "fifo.py")
    result = referee("audit-batch", folder, "--no-dynamic", "--out", folder.parent / "o.jsonl", "--json")
    assert result.returncode == clikit.EXIT_PASS, result.stderr[-2000:]
    assert "dangling.py: dangling symbolic link" in result.stderr and "fifo.py: named pipe (FIFO)" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["audited"] == 1 and {Path(p).name for p in summary["skipped"]} == {"dangling.py", "fifo.py"}


def test_sarif_locations_are_relative_to_the_stated_root(tmp_path):
    (tmp_path / "subs").mkdir()
    cheat = tmp_path / "subs" / "cheat.py"
    cheat.write_text(CHEAT)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args, cwd in ((["--sarif-root", tmp_path], elsewhere), ([], tmp_path)):
        result = referee("audit", cheat, "--no-dynamic", "--sarif", *args, cwd=cwd)
        run = json.loads(result.stdout)["runs"][0]
        artifact = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": "subs/cheat.py", "uriBaseId": "SRCROOT"}
        assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == tmp_path.resolve().as_uri() + "/"
        assert {r["id"] for r in run["tool"]["driver"]["rules"]} >= {"RPL001"}


def test_an_unexpected_error_is_one_line_not_a_traceback(capsys, monkeypatch):
    def bug() -> int:
        raise ZeroDivisionError("division by zero")

    def disk() -> int:
        raise OSError(28, "No space left on device", "/full/out.jsonl")

    monkeypatch.delenv("REFEREE_DEBUG", raising=False)
    assert clikit.guarded(bug) == clikit.EXIT_DEGRADED and clikit.guarded(disk) == clikit.EXIT_IO
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: division by zero (set REFEREE_DEBUG=1" in err
    assert "I/O error: /full/out.jsonl: No space left on device" in err and "Traceback" not in err
    monkeypatch.setenv("REFEREE_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        clikit.guarded(bug)
