"""The orjson fast path reads every line exactly as the standard library does, or hands it to the careful path."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from referee.bench.io import sglang
from referee.bench.io.lines import LineParser
from referee.bench.io.nonfinite import nonfinite_load
from referee.bench.io.runs import read_runs
from referee.bench.realformat.producers import Launch, Repeat, Workload, sglang_line


def _line(tput: float, **extra) -> dict:
    import random

    line = sglang_line("sglang-v0.5.23", Repeat(tput), Workload(), Launch("sglang", "sglang-v0.5.23"),
                       random.Random(int(tput)))
    line.update(extra)
    return line


def test_tricky_lines_match_the_standard_library(tmp_path: Path) -> None:
    rows = [
        json.dumps(_line(1000.0)),  # request_rate: Infinity, server_info learned
        json.dumps(_line(1001.0)),  # internal_states differ from the line above: parsed in full
        json.dumps(_line(1002.0, note='he said ": Infinity" twice')),  # the literal inside a string
        json.dumps(_line(1003.0, concurrency=float("nan"))),  # NaN value
        json.dumps(_line(1004.0, accept_length=float("-inf"))),  # -Infinity value
        json.dumps(_line(1005.0, extra={"nested": float("inf")})),  # nested: careful path
        json.dumps(_line(1006.0, arr=[float("inf"), 1])),  # in an array: careful path
        json.dumps(_line(1007.0, big=10 ** 30)),  # beyond 64 bits: orjson rejects, stdlib reads it
        json.dumps(_line(1008.0, tag="referee-nonfinite")),  # collides with the marker: never rewritten
        '{"output_throughput": 5.0, "median_e2e_latency_ms": 1.0, "x": "\\ud800"}',  # lone surrogate
        json.dumps(_line(1010.0))[:-40],  # truncated
        "",
        "[1, 2]",
    ]
    path = tmp_path / "bench_runs.jsonl"
    path.write_text("\n".join(rows) + "\n")
    table = read_runs(path)
    expected = [sglang.extract(json.loads(r))[0] for r in rows if _parses(r)]
    assert table.n == len(expected) == 10
    assert np.array_equal(table.values, np.array(expected), equal_nan=True)
    assert [m.line for m in table.malformed] == [11, 13]  # the truncated line and the array, with their lines
    assert "not valid JSON" in table.malformed[0].reason and "list" in table.malformed[1].reason
    assert len(table.servers) == 1  # internal_states differs on every line; the launch does not


def _parses(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def test_nonfinite_rewrite_only_for_top_level_values() -> None:
    assert nonfinite_load(b'{"request_rate": Infinity, "x": 1}') == {"request_rate": math.inf, "x": 1}
    assert nonfinite_load(b'{"a": -Infinity}') == {"a": -math.inf}
    assert nonfinite_load(b'{"a": {"n": Infinity}}') is None  # nested: the careful path decides
    assert nonfinite_load(b'{"t": "x\\": Infinity"}') is None  # escaped quote: inside a string
    assert nonfinite_load(b'{"a": Infinity, "t": "referee-nonfinite"}') is None


def test_block_rewrite_keeps_line_numbers_and_original_bytes_for_errors() -> None:
    part = LineParser()
    part.feed_block(b'{"output_throughput": 1.0, "request_rate": Infinity}\n{"output_throughput": 2, "r": Infinity\n')
    out = part.result()
    assert list(out["lines"]) == [1] and out["values"][0][0] == 1.0
    assert out["malformed"][0][0] == 2 and "Infinity" in out["malformed"][0][2]  # the original text, not a marker
