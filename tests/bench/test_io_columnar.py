# ruff: noqa: RUF005  (cases read best as "rows before + the odd line + rows after")
"""The columnar (msgspec) path and the careful per-line path give identical results and evidence, line for line.

Each case writes real-format SGLang lines (`realformat.producers`) with one awkward line among them, reads the
file once with the columnar path and once with it switched off, and compares every accumulator: rows, line
numbers, workloads, bases, launch identities (first line, count), formats, malformed lines with their reasons
and text. Each case also checks that the clean lines really went through the columnar path, so a test cannot
pass because the fast path quietly stood aside.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from referee.bench.io import identity, lines, runs
from referee.bench.io.lines import LineParser
from referee.bench.realformat.producers import Launch, Repeat, Workload, sglang_line, vllm_result


def _line(i: int, release: str = "sglang-v0.5.23", **extra: Any) -> dict[str, Any]:
    rng = random.Random(i)
    line = sglang_line(release, Repeat(1000.0 + i), Workload(), Launch("sglang", release), rng)
    line.update(extra)
    return line


def _clean(n: int, release: str = "sglang-v0.5.23") -> list[str]:
    return [json.dumps(_line(i, release)) for i in range(n)]


def _parse(data: bytes, fast: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], int]:
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(lines, "columnar", None)
        part = LineParser()
        for block in _blocks(data):
            part.feed_block(block)
        return part.result(), sum(len(x) for x in part.fast_lines)


def _blocks(data: bytes, size: int = 150_000) -> list[bytes]:
    """Whole-line blocks of about `size` bytes, newline dropped, as `_parse_range` feeds them."""
    out, start = [], 0
    while start < len(data):
        end = data.find(b"\n", start + size)
        if end < 0:
            end = len(data) - 1 if data.endswith(b"\n") else len(data)
            out.append(data[start:end])
            break
        out.append(data[start:end])
        start = end + 1
    return out


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert x is not None and y is not None, key
            assert x.shape == y.shape and np.array_equal(x, y, equal_nan=True), key
        else:
            assert x == y, key


def _check(text: str, monkeypatch: pytest.MonkeyPatch, min_fast: int) -> dict[str, Any]:
    data = text.encode("utf-8", "surrogateescape")
    fast, fast_rows = _parse(data, True, monkeypatch)
    careful, careful_rows = _parse(data, False, monkeypatch)
    _same(fast, careful)
    assert careful_rows == 0
    assert fast_rows >= min_fast, "the clean lines did not take the columnar path"
    return fast


CASES = {
    "malformed in the middle": lambda rows, L: rows[:5] + [rows[5][:-30]] + rows[6:],
    "nested Infinity": lambda rows, L: rows[:5] + [json.dumps(L(5, extra={"x": float("inf")}))] + rows[6:],
    "Infinity in an array": lambda rows, L: rows[:5] + [json.dumps(L(5, arr=[float("inf"), 1]))] + rows[6:],
    "-Infinity and NaN": lambda rows, L: rows[:4] + [json.dumps(L(4, request_rate=float("-inf"))),
                                                  json.dumps(L(5, accept_length=float("nan")))] + rows[6:],
    "lone surrogate": lambda rows, L: rows[:5] + [rows[5][:-1] + ', "x": "\\ud800"}'] + rows[6:],
    "big int in a metric": lambda rows, L: rows[:5] + [json.dumps(L(5, completed=10 ** 30))] + rows[6:],
    "huge int in a metric": lambda rows, L: rows[:5] + [json.dumps(L(5, duration=10 ** 400))] + rows[6:],
    "extra key": lambda rows, L: rows[:5] + [json.dumps(L(5, note="extra"))] + rows[6:],
    "missing key": lambda rows, L: rows[:5] + [json.dumps({k: v for k, v in L(5).items()
                                                        if k != "output_throughput"})] + rows[6:],
    "CRLF": lambda rows, L: [r + "\r" for r in rows],
    "truncated last line": lambda rows, L: rows[:-1] + [rows[-1][:-50]],
    "Infinity followed by a digit": lambda rows, L: rows[:5] + [rows[5].replace(": Infinity", ": Infinity5")]
    + rows[6:],
    "Infinity inside declared text": lambda rows, L: rows[:5] + [json.dumps(L(5, dataset_name="x: Infinity"))]
    + rows[6:],
    "the rewritten text already there": lambda rows, L: rows[:5] + [json.dumps(L(5, dataset_name="a: 1e999999"))]
    + rows[6:],
    "Infinity in server_info": lambda rows, L: rows[:5] + [rows[5].replace('"status": "ready"', '"status": Infinity')]
    + rows[6:],
    "blank and whitespace lines": lambda rows, L: rows[:3] + ["", "   "] + rows[3:],
    "two objects on one line": lambda rows, L: rows[:5] + [rows[5] + " " + rows[6]] + rows[7:],
    "one object over two lines": lambda rows, L: rows[:5] + ['{"a": [1', '2]}, ' + rows[6]] + rows[7:],
    "merged and split lines that add up": lambda rows, L: rows[:5] + ['{"a": [1,', '2]}'] + rows[7:10]
    + [rows[10] + ' {"b": 1}'] + rows[11:],
    "Infinity and a digit under a skipped key": lambda rows, L: rows[:5] + [
        rows[5].replace('"request_rate": Infinity', '"request_rat3": Infinity5')] + rows[6:],
    "not an object": lambda rows, L: rows[:5] + ["[1, 2]", "7"] + rows[5:],
    "invalid UTF-8": lambda rows, L: rows[:5] + [rows[5][:-1] + ', "x": "\udcff"}'] + rows[6:],
    "duplicate key": lambda rows, L: rows[:5] + [rows[5][:-1] + ', "output_throughput": 1.5}'] + rows[6:],
    "null metric and fallback": lambda rows, L: rows[:5] + [json.dumps(L(5, median_ttft_ms=None))] + rows[6:],
    "null median, the mean as text": lambda rows, L: rows[:5] + [json.dumps(L(5, median_ttft_ms=None,
                                                                            mean_ttft_ms="4280.5"))] + rows[6:],
    "null median, the mean not a number": lambda rows, L: rows[:5] + [json.dumps(L(5, median_tpot_ms=None,
                                                                                mean_tpot_ms=[1.0]))] + rows[6:],
    "null median, the mean Infinity": lambda rows, L: rows[:5] + [json.dumps(L(5, median_itl_ms=None,
                                                                            mean_itl_ms=float("inf")))] + rows[6:],
    "null median and null mean": lambda rows, L: rows[:5] + [json.dumps(L(5, median_e2e_latency_ms=None,
                                                                       mean_e2e_latency_ms=None))] + rows[6:],
    "another release's throughput names": lambda rows, L: rows[:5] + [json.dumps(
        {**{k: v for k, v in L(i).items() if k not in ("output_throughput", "total_throughput")},
         "output_token_throughput": 990.0 + i, "total_token_throughput": 1990.0}) for i in range(5, 9)] + rows[9:],
    "string metric": lambda rows, L: rows[:5] + [json.dumps(L(5, median_ttft_ms="4280.5"))] + rows[6:],
    "bool metric": lambda rows, L: rows[:5] + [json.dumps(L(5, completed=True))] + rows[6:],
    "errors array (detailed)": lambda rows, L: rows[:5] + [json.dumps(L(5, errors=["", "Server disconnected", ""]))]
    + rows[6:],
    "errors not a list": lambda rows, L: rows[:5] + [json.dumps(L(5, errors=None, failed=2))] + rows[6:],
    "workload changes": lambda rows, L: rows[:5] + [json.dumps(L(i, random_input_len=2048)) for i in range(5, 8)]
    + rows[8:],
    "server_info null": lambda rows, L: rows[:5] + [json.dumps(L(5, server_info=None))] + rows[6:],
    "another launch": lambda rows, L: rows[:5] + [json.dumps(L(5, server_info={"tp_size": 2}))] + rows[6:],
    "escaped key in server_info": lambda rows, L: rows[:5] + [rows[5].replace('"status"', '"st\\u0061tus"')] + rows[6:],
    "leading whitespace": lambda rows, L: rows[:5] + ["  " + rows[5]] + rows[6:],
    "a vLLM line among them": lambda rows, L: rows[:5] + [json.dumps(vllm_result(
        "vllm-serve", Repeat(990.0), Workload(), Launch("vllm", "vllm-serve"), random.Random(1)))] + rows[6:],
    "a native line among them": lambda rows, L: rows[:5] + [json.dumps(
        {"schema": "bench_run/v1", "metrics": {"output_throughput": 5.0}, "rep": {"is_warmup": True}})] + rows[6:],
    "deep nesting": lambda rows, L: rows[:5] + [rows[5][:-1] + ', "deep": ' + "[" * 3000 + "]" * 3000 + "}"] + rows[6:],
}


@pytest.mark.parametrize("release", ["sglang-v0.5.23", "sglang-v0.5.2"])  # 20 kB lines with server_info, 1 kB
@pytest.mark.parametrize("case", list(CASES))
def test_fast_and_careful_paths_agree(case: str, release: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = CASES[case](_clean(24, release), lambda i, **kw: _line(i, release, **kw))
    _check("\n".join(rows) + "\n", monkeypatch, min_fast=12)


def test_a_big_int_outside_the_metrics_is_read_as_the_standard_library_reads_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """orjson (the per-line path) turns integers past 64 bits into floats; the columnar path keeps json's int. So
    here the careful path is not the reference: everything else must agree, the workload must be json's."""
    rows = _clean(24)
    rows[5] = json.dumps(_line(5, max_concurrency=10 ** 30))
    data = "\n".join(rows).encode()
    fast, fast_rows = _parse(data, True, monkeypatch)
    careful, _ = _parse(data, False, monkeypatch)
    assert fast_rows == 24
    _same({k: v for k, v in fast.items() if k != "workloads"}, {k: v for k, v in careful.items() if k != "workloads"})
    assert [w[0][4] for w in fast["workloads"]] == [64, 10 ** 30]
    assert [w[1:] for w in fast["workloads"]] == [w[1:] for w in careful["workloads"]]


def test_malformed_lines_keep_their_line_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _clean(30)
    rows[7] = rows[7][:-25]
    rows[19] = "{not json"
    out = _check("\n".join(rows[:-1] + [rows[-1][:-10]]), monkeypatch, min_fast=20)
    assert [m[0] for m in out["malformed"]] == [8, 20, 30]
    assert all("not valid JSON" in m[1] for m in out["malformed"])
    assert out["total"] == 30 and len(out["lines"]) == 27


@pytest.mark.parametrize("release", ["sglang-v0.4.6.post5", "sglang-v0.5.2", "sglang-v0.5.23"])
def test_every_sglang_release_line_takes_the_columnar_path(release: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _check("\n".join(_clean(40, release)) + "\n", monkeypatch, min_fast=40)
    assert np.isfinite(out["values"][:, 0]).all()


def test_internal_states_that_differ_on_every_line_are_one_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _clean(40)
    assert len({json.dumps(json.loads(r.replace("Infinity", "1"))["server_info"]) for r in rows}) == 40
    out = _check("\n".join(rows), monkeypatch, min_fast=40)
    assert len(out["servers"]) == 1 and out["servers"][0][1:] == [1, 40]


def _with_server_info(row: str, **changes: Any) -> str:
    obj = json.loads(row)
    obj["server_info"].update(changes)
    return json.dumps(obj)


def test_a_launch_knob_that_moves_with_the_runtime_state_is_a_new_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _clean(30)
    rows[10] = _with_server_info(rows[10], tp_size=2)  # internal_states differs too, as on every line
    rows[20] = rows[20].replace('"internal_states": [', '"internal_states": [], "extra_knob": [', 1)
    out = _check("\n".join(rows), monkeypatch, min_fast=28)
    assert [s[1:] for s in out["servers"]] == [[1, 28], [11, 1], [21, 1]]


def test_runtime_cut_only_cuts_the_top_level_key() -> None:
    base = b'{"a": 1, "internal_states": [{"x": 1}], "v": 2}'
    assert identity.runtime_cut(base) == b'{"a": 1, "internal_states": , "v": 2}'
    nested = b'{"a": {"internal_states": [1]}, "internal_states": [2]}'
    assert identity.runtime_cut(nested) == nested  # two literal keys: not told apart, nothing cut
    escaped = b'{"internal\\u005fstates": [3], "b": 1}'
    assert identity.runtime_cut(escaped) == escaped


def test_float_values_match_the_standard_library(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    rows = [json.dumps(_line(i, output_throughput=rng.uniform(0, 1e6) * 10 ** rng.randint(-300, 300),
                             median_ttft_ms=float(rng.getrandbits(64)))) for i in range(200)]
    rows += [json.dumps(_line(200, output_throughput=2 ** 63 + 1)), json.dumps(_line(201, output_throughput=-0.0))]
    _check("\n".join(rows), monkeypatch, min_fast=150)


def test_read_runs_in_parallel_matches_the_careful_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _clean(300)
    rows[100] = rows[100][:-40]
    rows[250] = json.dumps(_line(250, extra={"n": float("inf")}))
    path = tmp_path / "bench_runs.jsonl"
    path.write_text("\n".join(rows) + "\n")
    monkeypatch.setattr(runs, "BLOCK", 20_000)
    monkeypatch.setattr(runs, "PARALLEL_MIN_BYTES", 1)
    fast = runs.read_runs(path, workers=2)
    monkeypatch.setattr(lines, "columnar", None)
    careful = runs.read_runs(path, workers=2)
    assert np.array_equal(fast.lines, careful.lines) and np.array_equal(fast.values, careful.values, equal_nan=True)
    assert [(m.line, m.reason, m.snippet) for m in fast.malformed] == [
        (m.line, m.reason, m.snippet) for m in careful.malformed] and fast.malformed[0].line == 101
    assert [(s.value, s.first_line, s.count) for s in fast.servers] == [
        (s.value, s.first_line, s.count) for s in careful.servers]
    assert fast.n == 299 and len(fast.servers) == 1
