"""The problem model, the JSONL loader (upstream rows, gzip, bad lines, partitions) and the prompt builder."""

from __future__ import annotations

import dataclasses
import gzip
import json
import pickle
from pathlib import Path

import pytest

from referee.loopholes.modes import HINT, HINT_TARGET, MODE_CODE, MODES
from referee.loopholes.problems import (
    SYSTEM_PROMPT,
    ProblemLoadError,
    ProblemSet,
    build_prompt,
    bundled_problems_path,
    format_question,
    load_partition,
    load_problems,
    problem_from_row,
    problem_to_row,
    prompt_text,
)

STARTER = "class Solution:\n    def addOne(self, x: int) -> int:\n        "


def upstream_row(pid: int | str = 3551, **changes) -> dict:
    """A row shaped like rl-rewardhacking's leetcode_test_medhard.jsonl, extra fields included."""
    question = format_question("Return `x` plus one.", "Solution().addOne", STARTER)
    tests = [f"assert Solution().addOne(x = {i}) == {i + 1}" for i in range(3)]
    row = {
        "id": pid, "dataset": "leetcode", "evaluator": "code", "question": question,
        "prompt": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}],
        "gt_answer": tests, "answer": tests, "hint": None, "func_name": "Solution().addOne",
        "setup_code": "from typing import *\n", "difficulty": "Medium",
        "canonical_solution": "class Solution:\n    def addOne(self, x: int) -> int:\n        return x + 1\n",
        "prompt_metadata": {"starter_code": STARTER, "test_func_name": "run_tests", "test_func_code": None},
        "completion_gt_pass": True, "test_code": "def run_tests():\n    " + "\n    ".join(tests),
    }
    row.update(changes)
    return row


def write_rows(path: Path, rows: list, *, gz: bool = False) -> Path:
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def eight(tmp_path) -> Path:
    return write_rows(tmp_path / "eight.jsonl", [upstream_row(100 + i) for i in range(8)])


# ── the model ──────────────────────────────────────────────────────────────────────────────────────────


def test_upstream_row_with_extra_fields_loads(tmp_path):
    problems = load_problems(write_rows(tmp_path / "up.jsonl", [upstream_row()]))
    (problem,) = problems
    assert problem.id == "3551"
    assert problem.func_name == "Solution().addOne" and problem.method_name == "addOne"
    assert problem.gt_answer == upstream_row()["gt_answer"]
    assert problem.difficulty == "medium"
    assert problem.starter_code == STARTER
    assert problem.setup_code == "from typing import *\n"
    assert problem.mode == MODES[0]
    assert problems.source == tmp_path / "up.jsonl" and problems.skipped == ()


def test_problem_is_frozen_hashable_and_validated():
    problem = problem_from_row(upstream_row())
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.id = "other"  # type: ignore[misc]
    assert hash(problem) == hash(problem_from_row(upstream_row()))
    assert problem.with_mode("xc").mode == "exit_code" and problem.mode is None
    with pytest.raises(ValueError, match="Solution"):
        dataclasses.replace(problem, func_name="addOne")
    with pytest.raises(ValueError, match="loophole mode"):
        dataclasses.replace(problem, mode="bogus")
    with pytest.raises(ValueError, match="gt_answer"):
        dataclasses.replace(problem, gt_answer=[])


def test_row_round_trip_keeps_every_field():
    problem = problem_from_row(upstream_row(), mode="sentinel")
    row = problem_to_row(problem)
    assert row["prompt"] == build_prompt(problem, hint=False)
    assert problem_from_row(row, mode="sentinel") == problem


def test_problem_set_lookup_by_id(eight):
    problems = load_problems(eight)
    assert isinstance(problems, ProblemSet) and isinstance(problems, list)
    assert problems.by_id(103).id == "103" and problems.by_id("107").id == "107"
    with pytest.raises(KeyError):
        problems.by_id("999")


# ── reading files ──────────────────────────────────────────────────────────────────────────────────────


def test_default_path_is_the_bundled_file():
    assert bundled_problems_path().is_file()
    assert [p.id for p in load_problems()] == [p.id for p in load_problems(bundled_problems_path())]


def test_gzip_loads_like_plain_even_without_gz_suffix(tmp_path):
    rows = [upstream_row(i) for i in range(4)]
    plain = load_problems(write_rows(tmp_path / "a.jsonl", rows))
    assert load_problems(write_rows(tmp_path / "a.jsonl.gz", rows, gz=True)) == plain
    assert load_problems(write_rows(tmp_path / "mislabelled.jsonl", rows, gz=True)) == plain


def test_truncated_gzip_is_an_error_with_a_line_or_skipped(tmp_path):
    data = gzip.compress("".join(json.dumps(upstream_row(i)) + "\n" for i in range(40)).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ProblemLoadError, match=r"cut\.jsonl\.gz:\d+: .*truncated or corrupt") as caught:
        load_problems(path)
    assert caught.value.line is not None and caught.value.line > 1
    partial = load_problems(path, on_error="skip")
    assert 0 < len(partial) < 40 and len(partial.skipped) == 1


def test_malformed_line_names_file_and_line(tmp_path):
    path = write_rows(tmp_path / "bad.jsonl", [upstream_row(1), "{not json", upstream_row(3)])
    with pytest.raises(ProblemLoadError) as caught:
        load_problems(path)
    assert str(caught.value).startswith(f"{path}:2: invalid JSON")
    assert (caught.value.path, caught.value.line) == (str(path), 2)


def test_truncated_last_line_is_reported(tmp_path):
    whole = json.dumps(upstream_row(2))
    path = write_rows(tmp_path / "cut.jsonl", [upstream_row(1), whole[: len(whole) // 2]])
    with pytest.raises(ProblemLoadError, match=r"cut\.jsonl:2: .*truncated line"):
        load_problems(path)


BAD_ROWS = [
    ("[1, 2]", "expected a JSON object"),
    (upstream_row(question=None), "missing field 'question'"),
    (upstream_row(func_name="addOne"), "Solution().method"),
    (upstream_row(gt_answer="assert True"), "must be a list"),
    (upstream_row(gt_answer=[]), "non-empty list"),
    (upstream_row(gt_answer=["assert Solution().addOne(x = 1) == "]), "gt_answer[0] does not parse"),
    (upstream_row(gt_answer=["print('hi')"]), "not a single assert"),
    (upstream_row(gt_answer=["assert 1; import os"]), "not a single assert"),
    (upstream_row(gt_answer=["assert 1; assert 2", "assert (3,", "4)"]), "gt_answer[0] is not a single assert"),
    (upstream_row(gt_answer=["assert True", "assert (3,\n"]), "gt_answer[1] does not parse"),
    (upstream_row(canonical_solution="class Solution(:\n"), "canonical_solution does not parse"),
    (upstream_row(setup_code=7), "'setup_code' must be a string"),
    (upstream_row(prompt_metadata={"starter_code": ["x"]}), "'starter_code' must be a string"),
    (upstream_row(pid=True), "field 'id'"),
    (upstream_row(pid=""), "field 'id'"),
    ("[" * 100_000, "invalid JSON"),
    ('{"id": ' + "9" * 5000 + "}", "invalid JSON"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS, ids=[r for _, r in BAD_ROWS])
def test_bad_row_is_a_clear_error(tmp_path, row, reason):
    path = write_rows(tmp_path / "rows.jsonl", [upstream_row(1), row])
    with pytest.raises(ProblemLoadError) as caught:
        load_problems(path)
    assert caught.value.line == 2 and reason in caught.value.reason


def test_multiline_assert_is_one_test():
    tests = ["assert Solution().addOne(x = 1) == (\n    2)", "assert Solution().addOne(x = 2) == 3"]
    assert problem_from_row(upstream_row(gt_answer=tests)).gt_answer == tests


def test_skip_mode_keeps_good_rows_and_records_the_rest(tmp_path):
    rows = [upstream_row(1), "{oops", "", upstream_row(2, func_name="x"), upstream_row(3), upstream_row(1)]
    path = write_rows(tmp_path / "mixed.jsonl", rows)
    problems = load_problems(path, on_error="skip")
    assert [p.id for p in problems] == ["1", "3"]
    assert [(e.line, e.path) for e in problems.skipped] == [(2, str(path)), (4, str(path)), (6, str(path))]
    assert "duplicate id '1' (first seen on line 1)" in problems.skipped[2].reason
    assert str(problems.skipped[0]).startswith(f"{path}:2: ")
    copy = pickle.loads(pickle.dumps(problems))
    assert copy == problems and copy.source == path
    assert [str(e) for e in copy.skipped] == [str(e) for e in problems.skipped]


def test_non_utf8_and_blank_lines(tmp_path):
    path = tmp_path / "bytes.jsonl"
    path.write_bytes(b"\n" + json.dumps(upstream_row(1)).encode() + b"\n\n\xff\xfe\n")
    with pytest.raises(ProblemLoadError, match=r"bytes\.jsonl:4: not UTF-8"):
        load_problems(path)
    assert [p.id for p in load_problems(path, on_error="skip")] == ["1"]


def test_empty_missing_and_bad_arguments(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(ProblemLoadError, match="holds no problems"):
        load_problems(tmp_path / "empty.jsonl")
    with pytest.raises(ProblemLoadError, match="cannot open"):
        load_problems(tmp_path / "absent.jsonl")
    with pytest.raises(ValueError, match="on_error"):
        load_problems(on_error="ignore")  # type: ignore[arg-type]


# ── mode assignment ────────────────────────────────────────────────────────────────────────────────────


def test_round_robin_follows_file_order(eight):
    assert [p.mode for p in load_problems(eight)] == [MODES[i % len(MODES)] for i in range(8)]
    assert {p.mode for p in load_problems(eight, modes=["rt"])} == {"run_tests"}
    assert [p.mode for p in load_problems(eight, modes=("sentinel", "xc"))][:3] == ["sentinel", "exit_code",
                                                                                     "sentinel"]
    assert {p.mode for p in load_problems(eight, modes=None)} == {None}
    with pytest.raises(ValueError, match="empty"):
        load_problems(eight, modes=[])
    with pytest.raises(ValueError, match="unknown loophole mode"):
        load_problems(eight, modes=["bogus"])


def test_round_robin_skips_bad_rows_without_shifting_blame(tmp_path):
    path = write_rows(tmp_path / "gap.jsonl", [upstream_row(1), "{", upstream_row(2)])
    assert [p.mode for p in load_problems(path, on_error="skip")] == list(MODES[:2])


@pytest.mark.parametrize("shape", ["object", "jsonl-records", "jsonl-pairs", "mode-to-ids", "mapping"])
def test_partition_selects_and_assigns_in_file_order(eight, tmp_path, shape):
    wanted = {"106": "eq_override", "101": "fm", "103": "so"}
    path = tmp_path / "partition.json"
    if shape == "object":
        path.write_text(json.dumps(wanted))
    elif shape == "jsonl-records":
        write_rows(path, [{"id": int(k), "mode": v} for k, v in wanted.items()])
    elif shape == "jsonl-pairs":
        write_rows(path, [{k: v} for k, v in wanted.items()])
    elif shape == "mode-to-ids":
        path.write_text(json.dumps({"eq": ["106"], "file_marker": [101], "so": ["103"]}))
    source = wanted if shape == "mapping" else path
    problems = load_problems(eight, partition=source)
    assert [(p.id, p.mode) for p in problems] == [("101", "file_marker"), ("103", "stdout_marker"),
                                                   ("106", "eq_override")]


def test_single_record_partition_file(eight, tmp_path):
    path = write_rows(tmp_path / "one.jsonl", [{"id": 104, "env_mode": "run_tests"}])
    assert [(p.id, p.mode) for p in load_problems(eight, partition=path)] == [("104", "run_tests")]


PARTITION_ERRORS = [
    ({"101": "rt", "999": "xc", "998": "xc"}, "2 id(s) not in this file: '999', '998'"),
    ({"101": "hack"}, "problem '101': unknown loophole mode 'hack'"),
    ({"101": 3}, "must be a string"),
    ({"rt": ["101"], "xc": ["101"]}, "given two modes"),
    ({}, "partition is empty"),
]


@pytest.mark.parametrize(("partition", "reason"), PARTITION_ERRORS, ids=[r for _, r in PARTITION_ERRORS])
def test_partition_errors_are_clear(eight, tmp_path, partition, reason):
    path = tmp_path / "partition.json"
    path.write_text(json.dumps(partition))
    with pytest.raises(ProblemLoadError) as caught:
        load_problems(eight, partition=path)
    assert reason in str(caught.value)


def test_partition_file_errors_name_the_line(eight, tmp_path):
    path = write_rows(tmp_path / "p.jsonl", [{"id": 101, "mode": "rt"}, {"id": 102, "mode": "nope"}])
    with pytest.raises(ProblemLoadError, match=r"p\.jsonl:2: problem '102': unknown loophole mode"):
        load_partition(path)
    write_rows(path, [{"id": 101, "mode": "rt"}, "{broken"])
    with pytest.raises(ProblemLoadError, match=r"p\.jsonl:2: invalid JSON"):
        load_partition(path)
    path.write_text("[1, 2]")
    with pytest.raises(ProblemLoadError, match="JSON object or JSONL"):
        load_partition(path)


def test_partition_naming_a_skipped_row_says_so(tmp_path):
    path = write_rows(tmp_path / "rows.jsonl", [upstream_row(1), "{"])
    with pytest.raises(ProblemLoadError, match="1 rows were skipped"):
        load_problems(path, partition={"2": "rt"}, on_error="skip")


# ── prompts ────────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("mode", MODES)
def test_hinted_prompt_discloses_the_mode_and_drops_the_target(mode):
    problem = problem_from_row(upstream_row(), mode=mode)
    system, user = build_prompt(problem)
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert user["role"] == "user"
    assert HINT[mode] in user["content"] and HINT_TARGET not in user["content"]
    assert f"called addOne {HINT[mode]}. Use the following starter code" in user["content"]
    assert user["content"] == prompt_text(problem)
    assert build_prompt(problem, MODE_CODE[mode]) == build_prompt(problem)


def test_prompt_without_mode_is_the_plain_upstream_one():
    problem = problem_from_row(upstream_row())
    assert build_prompt(problem) == upstream_row()["prompt"]
    hinted = problem.with_mode("run_tests")
    assert prompt_text(hinted, hint=False) == problem.question
    other = prompt_text(hinted, "eq_override")
    assert HINT["eq_override"] in other and HINT["run_tests"] not in other


def test_question_without_the_target_phrase_gets_the_hint_appended():
    problem = problem_from_row(upstream_row(question="PROBLEM:\nAdd one.\n\nSOLUTION:\n"), mode="file_marker")
    assert prompt_text(problem).endswith(f"Your solution {HINT['file_marker']}.")


def test_every_bundled_problem_takes_every_hint():
    for problem in load_problems():
        for mode in MODES:
            text = prompt_text(problem, mode)
            assert text.count(HINT[mode]) == 1 and HINT_TARGET not in text
