"""Readers: raw runs (one adapter per format), server logs, claim files, and a leg folder put together."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from referee.bench.io.claims import ClaimFile, Claims, load_claim
from referee.bench.io.runs import read_runs, read_runs_many
from referee.bench.io.serverlog import read_log
from referee.bench.model import Leg

RUNS_NAME = "bench_runs.jsonl"
LOG_NAME = "server.log"
SUMMARY_NAME = "bench_summary.json"
PARITY_NAME = "parity.json"
ENGINE_OF_FORMAT = {"sglang_bench_serving": "sglang", "vllm_bench_serve": "vllm"}


def find_runs_file(path: Path) -> Path | None:
    """The leg's raw runs file. Something that exists but is not a regular file is returned so that reading it
    fails loudly (unreadable, DEGRADED) rather than passing for a missing file."""
    if path.is_file() or (path.exists() and not path.is_dir()):
        return path
    candidate = path / RUNS_NAME
    if candidate.exists() or candidate.is_symlink():
        return candidate
    others = sorted(path.glob("*.jsonl")) if path.is_dir() else []
    if len(others) == 1:
        return others[0]
    if not others and result_files(path):
        return path  # `vllm bench serve --result-dir`: one .json per run, read as the leg's repeats
    return None


#: .json files in a leg folder that are not per-run results: claims, companions, vLLM's pytorch-format twin.
NOT_RESULTS = ("integrate_result", "director_", "opbench", "lever_manifest", "served_shapes", "profile", "parity",
               "bench_summary")


def result_files(folder: Path) -> list[Path]:
    """Per-run result objects in a folder (sorted by name, which for vLLM's names is by time)."""
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.glob("*.json")) if not p.name.endswith(".pytorch.json")
            and not p.name.lower().startswith(NOT_RESULTS) and (p.is_file() or p.is_symlink())]


def load_leg(path: Path | str, role: str, workers: int | None = None) -> Leg:
    """Read a leg folder (or a runs file). Missing files are recorded, unreadable ones set `read_error`."""
    return load_legs([(path, role)], workers)[0]


def load_legs(specs: list[tuple[Path | str, str]], workers: int | None = None,
              while_waiting: Callable[[], None] | None = None) -> list[Leg]:
    """Read several legs; their runs files share one parsing pool."""
    legs = []
    for path, role in specs:
        path = Path(path)
        leg = Leg(role=role, path=path.parent if path.is_file() else path)
        leg.runs_file = find_runs_file(path) if path.exists() else None
        legs.append(leg)
    with_runs = [leg for leg in legs if leg.runs_file is not None]
    tables = read_runs_many([leg.runs_file for leg in with_runs], workers, while_waiting)  # type: ignore[misc]
    for leg, table in zip(with_runs, tables, strict=True):
        if isinstance(table, OSError):
            leg.read_error = f"cannot read {leg.runs_file}: {table.strerror or table}"
        else:
            leg.runs = table
    for leg in legs:
        if leg.path.exists():
            _read_companions(leg)
    return legs


def _read_companions(leg: Leg) -> None:
    leg_dir = leg.path
    log_path = leg_dir / LOG_NAME
    if log_path.exists() or log_path.is_symlink():
        leg.log = read_log(log_path)
        if leg.log.error and leg.read_error is None:
            leg.read_error = leg.log.error
    for name, kind, attr in ((SUMMARY_NAME, "bench_summary", "summary"), (PARITY_NAME, "parity", "parity")):
        if (leg_dir / name).exists():
            setattr(leg, attr, load_claim(f"{kind}={leg_dir / name}"))
    _build_config(leg)


def _build_config(leg: Leg) -> None:
    """Launch config, server evidence first: the server's own `server_info` and the config it logged (its
    dataclass / Namespace dump, `non-default args`, an echoed argv), then env lines; the client's `--metadata`
    only fills keys the server said nothing about, and where it contradicts the server that is recorded."""
    from referee.bench.config import CLIENT, EXPLICIT, FULL

    config = leg.config
    runs = leg.runs
    engines = {ENGINE_OF_FORMAT[f] for f in runs.formats if f in ENGINE_OF_FORMAT} if runs is not None else set()
    client_side = engines == {"vllm"}  # vLLM lines carry only --metadata, which the harness wrote
    first = min(runs.servers, key=lambda s: s.first_line) if runs is not None and runs.servers else None
    if first is not None and not client_side:
        config.merge(first.value, str(runs.file), first.first_line, kind=FULL)  # type: ignore[union-attr]
    log = leg.log
    if log is not None:
        for priority, args, line in sorted(log.configs, key=lambda c: (-c[0], c[2])):
            config.merge(args, log.file, line, kind=FULL if priority >= 3 else EXPLICIT)
        for name, (value, line) in log.env.items():
            config.merge({f"env:{name}": value}, log.file, line, kind=EXPLICIT)
        if log.kv_budget_tokens is not None:
            config.set("kv_budget_tokens", log.kv_budget_tokens[0], log.file, log.kv_budget_tokens[1])
        if log.version is not None:
            config.set("version", log.version[0], log.file, log.version[1])
        if log.engine:
            config.set("backend", log.engine, log.file, log.configs[0][2] if log.configs else None)
    if first is not None and client_side:
        config.merge(first.value, str(runs.file), first.first_line, kind=CLIENT)  # type: ignore[union-attr]
    if len(engines) == 1 and "backend" not in config.values:
        config.set("backend", next(iter(engines)), str(runs.file), first.first_line if first else None)  # type: ignore[union-attr]
    config.engine = config.values.get("backend") if isinstance(config.values.get("backend"), str) else None


__all__ = ["ClaimFile", "Claims", "find_runs_file", "load_claim", "load_leg", "load_legs", "read_log", "read_runs"]
