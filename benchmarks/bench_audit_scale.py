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
memory, pinned to the same `--cores` CPUs (default 2, the issue's target machine). One table gives, per
contender: wall seconds, CPU seconds (the process and its children, all threads), lines per second, peak RSS
(parent, and the largest parser worker), the ratio to referee, and the load average before and after it ran;
referee runs `--repeat` times. Timings on a shared machine are noisy: repeat, and read the load columns.

`--real-server-info` writes SGLang's whole `/server_info` (about 560 keys, 20 kB a line) whose `internal_states`
differs on every line, the case where every line's launch identity must be recomputed (use fewer `--lines`).

    python benchmarks/bench_audit_scale.py [--lines 1000000] [--cores 2] [--repeat 3] [--format sglang|vllm]
        [--real-server-info] [--with-careful] [--workers N] [--skip-peers] [--skip-pandas]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
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


def _template(fmt: str, sanitized: bool = False, real_server_info: bool = False) -> str:
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
                           with_server_info=real_server_info)
        if real_server_info:  # runtime state that differs on every line, as /server_info reports it
            line["server_info"]["internal_states"][0]["last_gen_throughput"] = "@G@"
            marks["@G@"] = ("@G@", "%(g).3f")
        else:
            line["server_info"] = SERVER_INFO
        if sanitized:  # what polars' NDJSON parser accepts; SGLang itself writes the Infinity literal
            line["request_rate"] = "inf"
    for key, (mark, _) in marks.items():
        if key != mark:
            line[key] = mark
    text = json.dumps(line).replace("%", "%%")
    for mark, spec in marks.values():
        text = text.replace(f'"{mark}"', spec)
    return text + "\n"


LOG = "[2026-06-18 13:41:20] The server is fired up and ready to roll!\n"
ENGAGED = ("export OVERLAY_PYTHONPATH=overlay/cand_gemm\n"
           "[overlay] injected module aiter.ops.gemm_a8w8_blockscale <- overlay/cand_gemm/gemm_a8w8_blockscale.py\n")


def write_leg(folder: Path, lines: int, center: float, fmt: str, seed: int, engaged: bool = False,
              sanitized: bool = False, real_server_info: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    template = _template(fmt, sanitized, real_server_info)
    rng = random.Random(seed)
    path = folder / ("bench_runs.sanitized.jsonl" if sanitized else "bench_runs.jsonl")
    with path.open("w", encoding="utf-8") as handle:
        batch = []
        for i in range(lines):
            values = {"t": center * (1 + rng.uniform(-0.002, 0.002)), "f": 4280.0 + rng.random(),
                      "p": 59.5 + rng.random() / 10, "g": 2800 + 200 * rng.random(),
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


def _cpu_s() -> float:
    """CPU seconds of this process (all its threads) and its finished children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _finish(out: mp.Queue, started: float, cpu0: float, **row) -> None:
    out.put({"seconds": time.perf_counter() - started, "cpu_s": _cpu_s() - cpu0, "rss_mb": _peak_rss_mb(),
             "worker_rss_mb": _worker_rss_mb(), **row})


def run_referee(ref: str, cand: str, workers: int | None, out: mp.Queue, careful_only: bool = False) -> None:
    from referee.bench.audit import audit
    from referee.bench.context import AuditOptions

    if careful_only:  # the per-line reader alone (what every line went through before the columnar path)
        from referee.bench.io import lines

        lines.columnar = None

    started, cpu0 = time.perf_counter(), _cpu_s()
    result = audit("patch", ref, cand, options=AuditOptions(workers=workers), discover=False)
    legs = result.report.metrics["legs"]
    _finish(out, started, cpu0, verdict=result.report.verdict.value, timings=result.report.timings,
            medians=[legs[r]["summary"]["output_throughput"]["median"] for r in ("ref", "cand")],
            repeats=[legs[r]["repeats"] for r in ("ref", "cand")],
            malformed=[legs[r].get("malformed_lines", 0) for r in ("ref", "cand")])


def _careful_referee(ref: str, cand: str, workers: int | None, out: mp.Queue) -> None:
    run_referee(ref, cand, workers, out, careful_only=True)


def run_polars(ref: str, cand: str, name: str, out: mp.Queue) -> None:
    import polars as pl

    started, cpu0 = time.perf_counter(), _cpu_s()
    medians, repeats = [], []
    for leg in (ref, cand):
        frame = pl.scan_ndjson(Path(leg) / name).select(
            pl.col("output_throughput").median().alias("median"), pl.col("output_throughput").min().alias("min"),
            pl.col("output_throughput").max().alias("max"), pl.col("median_ttft_ms").median().alias("ttft"),
            pl.col("median_tpot_ms").median().alias("tpot"), pl.len().alias("n")).collect()
        medians.append(float(frame["median"][0]))
        repeats.append(int(frame["n"][0]))
    _finish(out, started, cpu0, medians=medians, repeats=repeats)


def run_duckdb(ref: str, cand: str, out: mp.Queue) -> None:
    import duckdb

    started, cpu0 = time.perf_counter(), _cpu_s()
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
    _finish(out, started, cpu0, medians=medians, repeats=repeats)


def run_read_floor(ref: str, cand: str, out: mp.Queue) -> None:
    """Physical floor: the bytes of both files read once (page cache warm from the writes)."""
    started, cpu0 = time.perf_counter(), _cpu_s()
    total = 0
    for leg in (ref, cand):
        with open(Path(leg) / "bench_runs.jsonl", "rb", buffering=0) as handle:
            while chunk := handle.read(8 << 20):
                total += len(chunk)
    _finish(out, started, cpu0, medians=[float("nan")] * 2, repeats=[0, 0], bytes=total)


def run_pandas(ref: str, cand: str, out: mp.Queue) -> None:
    import pandas as pd

    started, cpu0 = time.perf_counter(), _cpu_s()
    medians, repeats = [], []
    for leg in (ref, cand):
        frame = pd.read_json(Path(leg) / "bench_runs.jsonl", lines=True)
        tput = frame["output_throughput"]
        _ = (tput.min(), tput.max(), frame["median_ttft_ms"].median(), frame["median_tpot_ms"].median())
        medians.append(float(tput.median()))
        repeats.append(len(frame))
    _finish(out, started, cpu0, medians=medians, repeats=repeats)


def _guarded(target, args: tuple, cores: list[int] | None, out: mp.Queue) -> None:
    try:
        if cores is not None:
            os.sched_setaffinity(0, cores)  # the parser pool inherits it (and sizes itself by it)
        target(*args, out)
    except BaseException as exc:  # report, never leave the parent waiting
        out.put({"error": f"{type(exc).__name__}: {exc}"})


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def _in_child(target, cores: list[int] | None, *args) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    load_before = _loadavg()
    proc = ctx.Process(target=_guarded, args=(target, args, cores, queue))
    proc.start()
    result = queue.get()
    proc.join()
    result["load"] = f"{load_before}->{_loadavg()}"
    if "error" in result:
        raise SystemExit(f"{target.__name__} failed: {result['error']}")
    return result


def _try_child(target, cores: list[int] | None, *args) -> dict:
    try:
        return _in_child(target, cores, *args)
    except SystemExit as exc:
        return {"error": str(exc)}


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("msgspec", "orjson", "numpy", "polars", "duckdb", "pandas"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} -")
    return ", ".join(found)


def _pick_cores(count: int) -> list[int] | None:
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None
    return allowed[:count] if count > 0 else allowed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="raw lines in total, split over the two legs")
    parser.add_argument("--format", choices=("sglang", "vllm"), default="sglang")
    parser.add_argument("--real-server-info", action="store_true",
                        help="SGLang's whole /server_info, internal_states differing on every line (20 kB lines)")
    parser.add_argument("--cores", type=int, default=2, help="pin every contender to this many CPUs (0: all)")
    parser.add_argument("--repeat", type=int, default=1, help="referee runs (fresh process each)")
    parser.add_argument("--workers", type=int, default=None, help="parser processes (default: one per pinned core)")
    parser.add_argument("--with-careful", action="store_true",
                        help="also time referee with the columnar path switched off (the per-line reader alone)")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--skip-peers", action="store_true", help="skip polars and DuckDB (extra bench-peers)")
    args = parser.parse_args()
    per_leg = args.lines // 2
    cores = _pick_cores(args.cores)
    rows: list[tuple[str, dict]] = []
    with tempfile.TemporaryDirectory(prefix="bench_audit_scale_") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        kind = dict(fmt=args.format, real_server_info=args.real_server_info)
        ref = write_leg(root / "ref", per_leg, 1000.0, args.format, 1, real_server_info=args.real_server_info).parent
        cand = write_leg(root / "cand", per_leg, 1080.0, args.format, 2, engaged=True,
                         real_server_info=args.real_server_info).parent
        size_mb = sum((p / "bench_runs.jsonl").stat().st_size for p in (ref, cand)) / 1e6
        print(f"wrote {2 * per_leg:,} {args.format} lines ({size_mb:,.0f} MB, {kind}) in "
              f"{time.perf_counter() - started:.1f}s")
        for i in range(max(1, args.repeat)):
            rows.append((f"referee bench patch (full audit) #{i + 1}",
                         _in_child(run_referee, cores, str(ref), str(cand), args.workers)))
        ours = min((row for name, row in rows), key=lambda r: r["seconds"])
        if args.with_careful:
            rows.append(("referee, per-line (careful) path only", _in_child(
                _careful_referee, cores, str(ref), str(cand), args.workers)))
        rows.append(("read the bytes (physical floor)", _in_child(run_read_floor, cores, str(ref), str(cand))))
        if not args.skip_peers:
            rows.append(("duckdb read_ndjson + summary", _try_child(run_duckdb, cores, str(ref), str(cand))))
            polars = _try_child(run_polars, cores, str(ref), str(cand), "bench_runs.jsonl")
            if "error" in polars and args.format == "sglang":
                print(f"polars on the real SGLang lines: {polars['error'][:160]}")
                for leg, seed, center in ((ref, 1, 1000.0), (cand, 2, 1080.0)):
                    write_leg(leg, per_leg, center, args.format, seed, sanitized=True,
                              real_server_info=args.real_server_info)
                polars = _try_child(run_polars, cores, str(ref), str(cand), "bench_runs.sanitized.jsonl")
                rows.append(("polars scan_ndjson (on an 'inf' copy)", polars))
            else:
                rows.append(("polars scan_ndjson + summary", polars))
        if not args.skip_pandas:
            rows.append(("pandas.read_json(lines=True) + summary", _try_child(run_pandas, cores, str(ref), str(cand))))
    _print_table(rows, ours, per_leg, size_mb, cores)
    disagree = [name for name, row in rows if "error" not in row and row["repeats"] != [0, 0] and (
        row["repeats"] != ours["repeats"] or any(abs(a - b) > 1e-6 for a, b in
                                                 zip(ours["medians"], row["medians"], strict=True)))]
    if disagree:
        print(f"WARNING: {', '.join(disagree)} disagree with referee on repeats or medians", file=sys.stderr)
        return 1
    return 0


def _print_table(rows: list[tuple[str, dict]], ours: dict, per_leg: int, size_mb: float,
                 cores: list[int] | None) -> None:
    print(f"\nmachine: {os.cpu_count()} CPUs, contenders pinned to {len(cores) if cores else 'all'} "
          f"({cores}); python {sys.version.split()[0]}; {_versions()}")
    print(f"{'contender':42} {'wall s':>8} {'CPU s':>8} {'CPU/100k':>9} {'lines/s':>11} {'peak MB':>8} "
          f"{'worker MB':>9} {'vs ref.':>8} {'load 1m':>11}  medians (ref, cand)")
    for name, row in rows:
        if "error" in row:
            print(f"{name:42} failed: {row['error'][:100]}")
            continue
        rate = 2 * per_leg / row["seconds"]
        per_100k = row["cpu_s"] * 1e5 / (2 * per_leg)
        print(f"{name:42} {row['seconds']:8.2f} {row['cpu_s']:8.2f} {per_100k:9.3f} {rate:11,.0f} "
              f"{row['rss_mb']:8,.0f} {row['worker_rss_mb']:9,.0f} {row['seconds'] / ours['seconds']:7.2f}x "
              f"{row['load']:>11}  {row['medians'][0]:.3f}, {row['medians'][1]:.3f}")
    print(f"input: {2 * per_leg:,} lines, {size_mb:,.0f} MB; referee (best run) timings: "
          + ", ".join(f"{k}={v:.2f}s" for k, v in ours["timings"].items())
          + f"; verdict {ours['verdict']}; malformed lines (ref, cand): {ours['malformed']}")
    print("CPU s = the process and its children, all threads (the figure a loaded machine distorts least); "
          "peak MB = the contender's own peak RSS; worker MB = its largest parser worker's")


if __name__ == "__main__":
    sys.exit(main())
