"""Raw runs reader: every format, every kind of broken line, exact line numbers, fast path == full path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from referee.bench.examples import make
from referee.bench.io import runs as runs_mod
from referee.bench.io.runs import read_runs, read_runs_many


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_sglang_lines_with_server_info_are_columns_with_exact_lines(tmp_path: Path) -> None:
    info = make.server_info(make.BASE_ARGS, 1156449)
    rows = [json.dumps(make.sglang_line(1000.0 + i, server_info=info)) for i in range(5)]
    table = read_runs(_write(tmp_path / "r.jsonl", ["", rows[0], rows[1], "", rows[2], rows[3], rows[4]]))
    assert table.n == 5
    assert list(table.lines) == [2, 3, 5, 6, 7]
    assert list(table.column("output_throughput")) == [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]
    assert table.formats == {"sglang_bench_serving": 5}
    # launches are tracked by canonical config (tp_size -> tp)
    assert len(table.servers) == 1 and table.servers[0].count == 5 and table.servers[0].value["tp"] == 1
    assert table.column("ttft_ms")[0] == pytest.approx(4280.9)


def test_vllm_and_native_lines(tmp_path: Path) -> None:
    native = {"schema": "bench_run/v1", "rep": {"index": 0, "is_warmup": False, "t_start": "2026-06-18T13:00:00Z",
                                                 "t_end": "2026-06-18T13:05:00Z"},
              "workload": {"dataset": "random", "isl": 1024, "osl": 1024, "num_prompts": 320, "client": "custom"},
              "metrics": {"output_throughput": 900.5, "ttft_ms": {"median": 100.0, "p99": 150.0}, "completed": 320,
                          "failed": 0}, "server": {"backend": "custom", "tp": 2, "graphs": {"enabled": True}},
              "host": {"co_tenant_procs": 1}}
    warm = {**native, "rep": {"index": -1, "is_warmup": True}}
    table = read_runs(_write(tmp_path / "r.jsonl", [json.dumps(make.vllm_line(1500.0)), json.dumps(warm),
                                                   json.dumps(native)]))
    assert table.n == 2 and list(table.lines) == [1, 3]
    assert table.warmup_lines == [2]
    assert table.formats == {"vllm_bench_serve": 1, "native": 2}
    assert table.column("ttft_p99_ms")[1] == 150.0
    assert table.co_tenant == [(3, 1.0)]
    assert table.span is not None and table.span[1] > table.span[0]


@pytest.mark.parametrize("bad, reason", [
    ('{"output_throughput": 1000.0, "completed"', "not valid JSON"),
    ("[1, 2, 3]", "not an object"),
    ('"just a string"', "not an object"),
    ('{"hello": "world"}', "no known benchmark fields"),
    ("\x00\x01\x02 garbage \xff", "not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_malformed_lines_are_reported_and_skipped(tmp_path: Path, bad: str, reason: str) -> None:
    good = json.dumps(make.sglang_line(1000.0))
    table = read_runs(_write(tmp_path / "r.jsonl", [good, bad, good]))
    assert table.n == 2 and list(table.lines) == [1, 3]
    assert table.malformed_count == 1
    assert table.malformed[0].line == 2 and reason in table.malformed[0].reason


def test_invalid_utf8_and_truncated_last_line(tmp_path: Path) -> None:
    good = json.dumps(make.sglang_line(1000.0)).encode()
    path = tmp_path / "r.jsonl"
    path.write_bytes(good + b"\n" + b'{"output_throughput": 5, "x": "\xff\xfe"}\n' + good + b"\n" + good[:40])
    table = read_runs(path)
    assert table.n == 2 and list(table.lines) == [1, 3]
    assert [m.line for m in table.malformed] == [2, 4]
    assert "UTF-8" in table.malformed[0].reason


def test_crlf_line_endings(tmp_path: Path) -> None:
    good = json.dumps(make.sglang_line(1000.0))
    path = tmp_path / "r.jsonl"
    path.write_bytes((good + "\r\n" + good + "\r\n").encode())
    assert read_runs(path).n == 2


def test_fast_path_matches_full_parse_for_every_line_shape(tmp_path: Path) -> None:
    """Templates must give the same numbers as json.loads + the adapter, including nulls and key changes."""
    info = make.server_info(make.BASE_ARGS, 1156449)
    rows = []
    for i in range(40):
        row = make.sglang_line(1000.0 + i, ttft=4000.0 + i, server_info=info)
        if i % 7 == 3:
            row["median_ttft_ms"] = None  # null -> falls back to mean
        if i % 11 == 5:
            row["failed"] = 2  # an extra key: a different key set
        if i % 13 == 4:
            row["output_throughput"] = "1000.5"  # text -> full path
        text = json.dumps(row)
        if i == 20:
            text = text.replace('"completed": 320', '"completed": 1' + "0" * 400)  # int beyond float range
        rows.append(text)
    table = read_runs(_write(tmp_path / "r.jsonl", rows))
    from referee.bench.io import sglang

    expected = np.array([sglang.extract(json.loads(r))[0] for r in rows])
    assert np.array_equal(table.values, expected, equal_nan=True)
    assert table.column("completed")[20] == np.inf
    assert table.column("failed")[5] == 2 and np.isnan(table.column("failed")[0])


def test_server_info_swap_cannot_be_fooled(tmp_path: Path) -> None:
    """A line whose only server_info is nested, or whose key is escaped, must be parsed in full."""
    info = {"tp_size": 1, "mem_fraction_static": 0.85}
    first = make.sglang_line(1000.0, server_info=info)
    nested = make.sglang_line(1001.0)
    nested["meta"] = {"server_info": info}
    escaped = json.dumps(make.sglang_line(1002.0)).rstrip("}") + ', "server\\u005finfo": {"tp_size": 8}}'
    swapped_value = make.sglang_line(1003.0, server_info={"tp_size": 4, "mem_fraction_static": 0.85})
    table = read_runs(_write(tmp_path / "r.jsonl", [json.dumps(first), json.dumps(nested), escaped,
                                                   json.dumps(swapped_value)]))
    assert table.n == 4
    servers = {tuple(sorted(s.value.items())): s.first_line for s in table.servers}
    # launches are tracked by their canonical config (tp_size -> tp, mem_fraction_static -> kv_mem_fraction)
    assert servers == {(("kv_mem_fraction", 0.85), ("tp", 1)): 1, (("tp", 8),): 3,
                       (("kv_mem_fraction", 0.85), ("tp", 4)): 4}


@pytest.mark.parametrize("shared", ["shared memory", "too small: inline", "cannot map: inline"])
def test_parallel_split_gives_identical_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared: str) -> None:
    info = make.server_info(make.BASE_ARGS, 1156449)
    rows = [json.dumps(make.sglang_line(1000.0 + i % 17, server_info=info)) for i in range(3000)]
    rows[1234] = rows[1234][:50]
    path = _write(tmp_path / "r.jsonl", rows)
    sequential = read_runs(path, workers=1)
    monkeypatch.setattr(runs_mod, "PARALLEL_MIN_BYTES", 1)
    if shared == "too small: inline":  # a worker with more lines than its area holds sends them through the pipe
        monkeypatch.setattr(runs_mod, "SHARED_MIN_LINE", 1 << 40)
    elif shared == "cannot map: inline":
        def no_room(size: int) -> None:
            raise OSError(12, "Cannot allocate memory")

        monkeypatch.setattr(runs_mod._SharedResult, "__init__", lambda self, size: no_room(size))
    taken: list[bool] = []
    take = runs_mod._SharedResult.take
    monkeypatch.setattr(runs_mod._SharedResult, "take",
                        lambda self, part: (taken.append("shared" in part), take(self, part))[-1])
    parallel = read_runs_many([path, path], workers=3)
    assert taken == ([True] * 3 if shared == "shared memory" else [False] * 3 if shared == "too small: inline" else [])
    for table in parallel:
        assert not isinstance(table, OSError)
        assert np.array_equal(table.lines, sequential.lines)
        assert np.array_equal(table.values, sequential.values, equal_nan=True)
        assert [m.line for m in table.malformed] == [1235]
        assert table.servers[0].count == 2999 and table.servers[0].first_line == 1


def test_block_boundaries_and_overlong_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs_mod, "BLOCK", 64)
    monkeypatch.setattr(runs_mod, "MAX_LINE", 4096)
    good = json.dumps(make.sglang_line(1000.0))
    huge = '{"output_throughput": 1, "pad": "' + "x" * 10_000 + '"}'
    table = read_runs(_write(tmp_path / "r.jsonl", [good, huge, good, good]))
    assert list(table.lines) == [1, 3, 4]
    assert table.malformed[0].line == 2 and "longer than" in table.malformed[0].reason


def test_single_vllm_result_json_file(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(make.vllm_line(1234.5), indent=2))
    table = read_runs(path)
    assert table.n == 1 and table.column("output_throughput")[0] == 1234.5


def test_unreadable_file_raises_oserror(tmp_path: Path) -> None:
    folder = tmp_path / "bench_runs.jsonl"
    folder.mkdir()
    with pytest.raises(OSError):
        read_runs(folder)
    assert isinstance(read_runs_many([tmp_path / "missing.jsonl"])[0], OSError)


def test_every_line_different_stays_linear(tmp_path: Path) -> None:
    """Without a cap, a workload that changes on every line would open a new entry per line (quadratic)."""
    rows = [json.dumps(make.sglang_line(1000.0 + i % 3, workload={"max_concurrency": i})) for i in range(5000)]
    table = read_runs(_write(tmp_path / "r.jsonl", rows))
    assert table.n == 5000 and 1 < len(table.workloads) <= 64
    assert sum(s.count for s in table.workloads) == 5000
