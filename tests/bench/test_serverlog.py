"""Server logs: launch config from every engine's spelling, capacity, engagement, contention, crashes."""

from __future__ import annotations

from pathlib import Path

from referee.bench.config import canonicalize
from referee.bench.examples import make
from referee.bench.io.serverlog import read_log


def _log(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "server.log"
    path.write_text(text, encoding="utf-8")
    return path


def test_sglang_serverargs_repr_and_capacity(tmp_path: Path) -> None:
    facts = read_log(_log(tmp_path, make.sglang_log(make.BASE_ARGS, 947041, peak_tokens=90000,
                                                    env={"SGLANG_USE_AITER": "1"})))
    priority, args, line = facts.configs[0]
    assert priority == 4 and line == 2 and facts.engine == "sglang"  # ServerArgs repr: a full dump, top rank
    canon = canonicalize(args)
    assert canon["tp"] == 1 and canon["kv_mem_fraction"] == 0.85 and canon["graphs_enabled"] is True
    assert canon["prefix_cache"] is False and "port" not in canon and "random_seed" not in canon
    assert facts.kv_budget_tokens == (947041, 4)
    assert facts.peak_tokens is not None and facts.peak_tokens[0] == 90000
    assert facts.peak_running is not None and facts.peak_running[0] == 64
    assert facts.env["SGLANG_USE_AITER"] == ("1", 1)
    assert not facts.engagement and not facts.contention and not facts.crashes


def test_vllm_non_default_args_and_kv(tmp_path: Path) -> None:
    args = {"model": make.MODEL, "tensor_parallel_size": 2, "gpu_memory_utilization": 0.9, "enforce_eager": True}
    facts = read_log(_log(tmp_path, make.vllm_log(args, 1_156_449)))
    canon = canonicalize(facts.configs[0][1])
    assert canon == {"model": make.MODEL, "tp": 2, "kv_mem_fraction": 0.9, "graphs_enabled": False}
    assert facts.kv_budget_tokens is not None and facts.kv_budget_tokens[0] == 1156449
    assert facts.peak_usage is not None and abs(facts.peak_usage[0] - 0.081) < 1e-9


def test_vllm_namespace_blocks_and_command_line(tmp_path: Path) -> None:
    text = ("+ vllm serve /models/m --tensor-parallel-size 4 --max-num-seqs=128 --enforce-eager\n"
            "INFO args: Namespace(model='/models/m', tensor_parallel_size=4, block_size=16, max_num_seqs=128)\n"
            "INFO # GPU blocks: 1000\n")
    facts = read_log(_log(tmp_path, text))
    ranked = sorted(facts.configs, key=lambda c: -c[0])
    assert ranked[0][1]["tensor_parallel_size"] == 4 and ranked[1][1]["enforce_eager"] is True
    assert facts.kv_budget_tokens == (16000, 3)


def test_markers(tmp_path: Path) -> None:
    text = "\n".join([
        "[overlay] bound flydsl.gemm over aiter.ops.gemm",
        "aiter: gemm_a8w8 is tuned on cu_num 304",
        "live forward count: 0",
        "target callable: aiter.ops.gemm_a8w8_blockscale",
        "WARNING another process is using the GPU (pid 4242)",
        *["spawned rocm_agent_enumerator"] * 3,
        "Traceback (most recent call last):",
        "HSA_STATUS_ERROR_MEMORY_APERTURE_VIOLATION",
    ])
    facts = read_log(_log(tmp_path, text))
    assert [line for line, _ in facts.engagement] == [1, 2]
    assert facts.forward_counts == [(3, 0)]
    assert facts.rebind_targets == [(4, "aiter.ops.gemm_a8w8_blockscale")]
    assert [line for line, _ in facts.contention] == [5, 6]
    assert [line for line, _ in facts.crashes] == [9, 10]


def test_ordinary_lines_are_not_markers(tmp_path: Path) -> None:
    text = "\n".join([
        "Loading overlay config file for the tokenizer",  # 'overlay' without a bind verb
        "gen throughput (token/s): 1001.2, #queue-req: 0",
        "process started, pid 11",
        "no errors detected during warmup",
        "spawned rocm_agent_enumerator",  # one enumerator call is normal
    ])
    facts = read_log(_log(tmp_path, text))
    assert not facts.engagement and not facts.contention and not facts.crashes


def test_hostile_log_never_raises(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    path.write_bytes(b"\xff\xfe\x00garbage\n" + b"server_args=ServerArgs(" + b"(" * 50_000 + b"\n"
                     + b"non-default args: {" + b"[" * 10_000 + b"\n" + b"x" * 3_000_000 + b"\n"
                     + b"server_args=ServerArgs(tp_size=__import__('os').system('false'), mem_fraction_static=0.8)\n")
    facts = read_log(path)
    assert facts.error is None and facts.lines == 5
    args = facts.configs[-1][1]
    assert args["mem_fraction_static"] == 0.8 and isinstance(args["tp_size"], str)  # kept as text, never run


def test_missing_log_is_an_error_not_an_exception(tmp_path: Path) -> None:
    facts = read_log(tmp_path / "nope.log")
    assert facts.error is not None
