"""Scale benchmark for the benchmark-claim auditor.

Writes a leg pair (default 1,000,000 raw lines in total, half per leg) in the real SGLang v0.5.23
`bench_serving --output-file` line format (`referee.bench.realformat.producers`: `request_rate: Infinity`,
a `server_info` block on every line), then, in the same run and on the same files, times:

- `referee bench patch` end to end (read both legs with file:line evidence for every malformed line,
  re-derive, run every patch rule);
- the tools a user would reach for instead, each reading both legs and summarising output throughput
  (median, min, max) and the TTFT / TPOT medians: pandas `read_json(lines=True)`, polars `scan_ndjson`
  (extra `bench-peers`), DuckDB `read_ndjson` (extra `bench-peers`). polars cannot read the `Infinity`
  literal SGLang writes; it is then timed on a copy with `"request_rate": "inf"` (what its parser accepts),
  and the failure is printed;
- the physical floor: reading the bytes of both files (`cat > /dev/null` in Python, 8 MiB blocks).

Each contender runs in its own fresh process (timed after its imports), so none inherits another's caches or
memory. Prints absolute seconds, lines per second, peak RSS and ratios to referee. Timings on a shared machine
are noisy: repeat and say the load (`uptime`).

    python benchmarks/bench_audit_scale.py [--lines 1000000] [--format sglang|vllm] [--workers N] [--skip-peers]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

SERVER_INFO = {
    "model_path": "/models/Qwen3.5-27B-FP8", "tokenizer_path": "/models/Qwen3.5-27B-FP8", "tp_size": 1, "dp_size": 1,
    "pp_size": 1, "ep_size": 1, "mem_fraction_static": 0.85, "dtype": "auto", "quantization": "fp8",
    "kv_cache_dtype": "auto", "context_length": 40960, "attention_backend": "triton", "disable_cuda_graph": False,
    "cuda_graph_max_bs": 160, "chunked_prefill_size": 8192, "max_prefill_tokens": 16384, "schedule_policy": "fcfs",
    "disable_radix_cache": True, "enable_torch_compile": False, "host": "127.0.0.1", "port": 30000, "random_seed": 0,
    "max_total_num_tokens": 1156449, "max_req_input_len": 40954, "version": "0.5.2",
}


def _template(fmt: str, sanitized: bool = False) -> str:
    """One raw line with %(name)-placeholders for the values that vary per repeat (so writing 1M lines is fast)."""
    import random as _random

    from referee.bench.realformat.producers import Launch, Repeat, Workload, sglang_line, vllm_result

    marks = {"output_throughput": ("@T@", "%(t).3f"), "median_ttft_ms": ("@F@", "%(f).2f"),
             "median_tpot_ms": ("@P@", "%(p).3f")}
    rng = _random.Random(0)
    if fmt == "vllm":
        line = vllm_result("vllm-serve", Repeat(1000.0), Workload(), Launch("vllm", "vllm-serve"), rng)
        marks["date"] = ("@D@", '"%(d)s"')
    else:
        line = sglang_line("sglang-v0.5.23", Repeat(1000.0), Workload(), Launch("sglang", "sglang-v0.5.23"), rng,
                           with_server_info=False)
        line["server_info"] = SERVER_INFO
        if sanitized:  # what polars' NDJSON parser accepts; SGLang itself writes the Infinity literal
            line["request_rate"] = "inf"
    for key, (mark, _) in marks.items():
        line[key] = mark
    text = json.dumps(line).replace("%", "%%")
    for mark, spec in marks.values():
        text = text.replace(f'"{mark}"', spec)
    return text + "\n"


LOG = "[2026-06-18 13:41:20] The server is fired up and ready to roll!\n"
ENGAGED = ("export OVERLAY_PYTHONPATH=overlay/cand_gemm\n"
           "[overlay] injected module aiter.ops.gemm_a8w8_blockscale <- overlay/cand_gemm/gemm_a8w8_blockscale.py\n")


def write_leg(folder: Path, lines: int, center: float, fmt: str, seed: int, engaged: bool = False,
              sanitized: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    template = _template(fmt, sanitized)
    rng = random.Random(seed)
    path = folder / ("bench_runs.sanitized.jsonl" if sanitized else "bench_runs.jsonl")
    with path.open("w", encoding="utf-8") as handle:
        batch = []
        for i in range(lines):
            values = {"t": center * (1 + rng.uniform(-0.002, 0.002)), "f": 4280.0 + rng.random(),
                      "p": 59.5 + rng.random() / 10,
                      "d": f"202606{10 + 6 * seed + i // 86400:02d}-{(i // 3600) % 24:02d}{(i // 60) % 60:02d}"
                           f"{i % 60:02d}"}
            batch.append(template % values)
            if len(batch) >= 10_000:
                handle.write("".join(batch))
                batch.clear()
        handle.write("".join(batch))
    (folder / "server.log").write_text((ENGAGED if engaged else "") + LOG)
    return path


def _peak_rss_mb() -> float:
    """This process's own peak RSS: VmHWM (reset at exec, so a spawned child does not inherit its parent's
    peak, which ru_maxrss does), else ru_maxrss."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _worker_rss_mb() -> float:
    """Largest RSS among this process's finished children (the parser pool), 0 when none ran."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def run_referee(ref: str, cand: str, workers: int | None, out: mp.Queue) -> None:
    from referee.bench.audit import audit
    from referee.bench.context import AuditOptions

    started = time.perf_counter()
    result = audit("patch", ref, cand, options=AuditOptions(workers=workers), discover=False)
    elapsed = time.perf_counter() - started
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime  # parent + parser workers
    legs = result.report.metrics["legs"]
    out.put({"seconds": elapsed, "cpu_s": cpu, "rss_mb": _peak_rss_mb(), "worker_rss_mb": _worker_rss_mb(),
             "verdict": result.report.verdict.value,
             "timings": result.report.timings,
             "medians": [legs[r]["summary"]["output_throughput"]["median"] for r in ("ref", "cand")],
             "repeats": [legs[r]["repeats"] for r in ("ref", "cand")]})


def _summary(tput, ttft, tpot) -> dict:
    median = float(tput.median())
    return {"median": median, "min": float(tput.min()), "max": float(tput.max()),
            "spread_pct": 100 * float(tput.max() - tput.min()) / median, "ttft": float(ttft.median()),
            "tpot": float(tpot.median())}


def run_polars(ref: str, cand: str, name: str, out: mp.Queue) -> None:
    import polars as pl

    started = time.perf_counter()
    medians, repeats = [], []
    for leg in (ref, cand):
        frame = pl.scan_ndjson(Path(leg) / name).select(
            pl.col("output_throughput").median().alias("median"), pl.col("output_throughput").min().alias("min"),
            pl.col("output_throughput").max().alias("max"), pl.col("median_ttft_ms").median().alias("ttft"),
            pl.col("median_tpot_ms").median().alias("tpot"), pl.len().alias("n")).collect()
        medians.append(float(frame["median"][0]))
        repeats.append(int(frame["n"][0]))
    out.put({"seconds": time.perf_counter() - started, "rss_mb": _peak_rss_mb(), "worker_rss_mb": 0.0,
             "medians": medians, "repeats": repeats})


def run_duckdb(ref: str, cand: str, out: mp.Queue) -> None:
    import duckdb

    started = time.perf_counter()
    medians, repeats = [], []
    con = duckdb.connect()
    for leg in (ref, cand):
        path = str(Path(leg) / "bench_runs.jsonl").replace("'", "''")
        row = con.execute(f"select median(output_throughput), min(output_throughput), max(output_throughput), "
                      f"median(median_ttft_ms), median(median_tpot_ms), count(*) "
                      f"from read_ndjson('{path}', columns={{'output_throughput': 'DOUBLE', "
                      f"'median_ttft_ms': 'DOUBLE', 'median_tpot_ms': 'DOUBLE'}})").fetchone()
        medians.append(float(row[0]))
        repeats.append(int(row[5]))
    out.put({"seconds": time.perf_counter() - started, "rss_mb": _peak_rss_mb(), "worker_rss_mb": 0.0,
             "medians": medians, "repeats": repeats})


def run_read_floor(ref: str, cand: str, out: mp.Queue) -> None:
    """Physical floor: the bytes of both files read once (page cache warm from the writes)."""
    started = time.perf_counter()
    total = 0
    for leg in (ref, cand):
        with open(Path(leg) / "bench_runs.jsonl", "rb", buffering=0) as handle:
            while chunk := handle.read(8 << 20):
                total += len(chunk)
    out.put({"seconds": time.perf_counter() - started, "rss_mb": _peak_rss_mb(), "worker_rss_mb": 0.0,
             "medians": [float("nan")] * 2, "repeats": [0, 0], "bytes": total})


def run_pandas(ref: str, cand: str, out: mp.Queue) -> None:
    import pandas as pd

    started = time.perf_counter()
    medians, repeats = [], []
    for leg in (ref, cand):
        frame = pd.read_json(Path(leg) / "bench_runs.jsonl", lines=True)
        tput = frame["output_throughput"]
        median = float(tput.median())
        _ = _summary(tput, frame["median_ttft_ms"], frame["median_tpot_ms"])
        medians.append(median)
        repeats.append(len(frame))
    out.put({"seconds": time.perf_counter() - started, "rss_mb": _peak_rss_mb(), "worker_rss_mb": 0.0,
             "medians": medians,
             "repeats": repeats})


def _guarded(target, args: tuple, out: mp.Queue) -> None:
    try:
        target(*args, out)
    except BaseException as exc:  # report, never leave the parent waiting
        out.put({"error": f"{type(exc).__name__}: {exc}"})


def _in_child(target, *args) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_guarded, args=(target, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    if "error" in result:
        raise SystemExit(f"{target.__name__} failed: {result['error']}")
    return result


def _try_child(target, *args) -> dict:
    try:
        return _in_child(target, *args)
    except SystemExit as exc:
        return {"error": str(exc)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="raw lines in total, split over the two legs")
    parser.add_argument("--format", choices=("sglang", "vllm"), default="sglang")
    parser.add_argument("--workers", type=int, default=None, help="parser processes (default: one per core)")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--skip-peers", action="store_true", help="skip polars and DuckDB (extra bench-peers)")
    args = parser.parse_args()
    per_leg = args.lines // 2
    rows: list[tuple[str, dict]] = []
    with tempfile.TemporaryDirectory(prefix="bench_audit_scale_") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        ref = write_leg(root / "ref", per_leg, 1000.0, args.format, 1).parent
        cand = write_leg(root / "cand", per_leg, 1080.0, args.format, 2, engaged=True).parent
        size_mb = sum((p / "bench_runs.jsonl").stat().st_size for p in (ref, cand)) / 1e6
        print(f"wrote {2 * per_leg:,} {args.format} lines ({size_mb:,.0f} MB) in {time.perf_counter() - started:.1f}s")
        ours = _in_child(run_referee, str(ref), str(cand), args.workers)
        rows.append(("referee bench patch (full audit)", ours))
        rows.append(("read the bytes (physical floor)", _in_child(run_read_floor, str(ref), str(cand))))
        if not args.skip_peers:
            rows.append(("duckdb read_ndjson + summary", _try_child(run_duckdb, str(ref), str(cand))))
            polars = _try_child(run_polars, str(ref), str(cand), "bench_runs.jsonl")
            if "error" in polars and args.format == "sglang":
                print(f"polars on the real SGLang lines: {polars['error'][:160]}")
                for leg, seed, center in ((ref, 1, 1000.0), (cand, 2, 1080.0)):
                    write_leg(leg, per_leg, center, args.format, seed, sanitized=True)
                polars = _try_child(run_polars, str(ref), str(cand), "bench_runs.sanitized.jsonl")
                rows.append(("polars scan_ndjson (on an 'inf' copy)", polars))
            else:
                rows.append(("polars scan_ndjson + summary", polars))
        if not args.skip_pandas:
            rows.append(("pandas.read_json(lines=True) + summary", _try_child(run_pandas, str(ref), str(cand))))
    print(f"\n{'contender':42} {'seconds':>9} {'lines/s':>12} {'peak RSS MB':>12} {'worker MB':>10} {'vs referee':>11}"
          f"  medians (ref, cand)")
    for name, row in rows:
        if "error" in row:
            print(f"{name:42} failed: {row['error'][:100]}")
            continue
        rate = 2 * per_leg / row["seconds"]
        ratio = row["seconds"] / ours["seconds"]
        print(f"{name:42} {row['seconds']:9.2f} {rate:12,.0f} {row['rss_mb']:12,.0f} {row['worker_rss_mb']:10,.0f} "
              f"{ratio:10.2f}x  {row['medians'][0]:.3f}, {row['medians'][1]:.3f}")
    print("referee timings: " + ", ".join(f"{k}={v:.2f}s" for k, v in ours["timings"].items())
          + f"; CPU {ours['cpu_s']:.2f}s (parent + workers, incl. imports: the figure a loaded machine distorts least)")
    print(f"referee peak memory: parent {ours['rss_mb']:.0f} MB + largest worker {ours['worker_rss_mb']:.0f} MB; "
          f"audit verdict {ours['verdict']}")
    disagree = [name for name, row in rows[2:] if "error" not in row and (
        row["repeats"] != ours["repeats"] or any(abs(a - b) > 1e-6 for a, b in
                                                 zip(ours["medians"], row["medians"], strict=True)))]
    if disagree:
        print(f"WARNING: {', '.join(disagree)} disagree with referee on repeats or medians", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
