"""Streaming reader for a raw runs file (`bench_runs.jsonl`): every line parsed, none trusted, none lost.

Files are read in blocks and only the fields the audit needs are kept, as numpy columns, so a million-line leg
costs one pass and a few tens of megabytes. Big files are split at line boundaries across processes (one per
core, one pool shared by both legs); line numbers stay exact. Line parsing itself lives in `lines.py`.
"""

from __future__ import annotations

import gc
import itertools
import json
import mmap
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from referee.bench.io.files import is_regular
from referee.bench.io.lines import MAX_KEPT, LineParser
from referee.bench.model import METRICS, NAN, Malformed, RunTable, Seen

BLOCK = 1 << 20  # small enough to stay in cache while a block is rewritten, split and decoded
MAX_LINE = 32 << 20
PARALLEL_MIN_BYTES = 48 << 20
MAX_JSON_FILE = 128 << 20
SHARED_MIN_LINE = 128  # bytes per line a worker's shared result area is sized for
MADV_POPULATE_READ = getattr(mmap, "MADV_POPULATE_READ", 22)  # Linux's value; Python 3.11 lacks the name
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
KEPT_MMAP_THRESHOLD, KEPT_TRIM_THRESHOLD = 256 << 20, 512 << 20
GLIBC_DEFAULT_THRESHOLD = 128 << 10  # both start at 128 KiB in glibc


def _parse_range(path: str, start: int, end: int) -> dict[str, Any]:
    """Parse the lines in [start, end). The cyclic garbage collector is paused meanwhile: a block makes hundreds
    of thousands of short-lived tuples and no cycles, and its passes over them cost several percent."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _parse_range_unpaused(path, start, end)
    finally:
        if paused:
            gc.enable()


def _parse_range_unpaused(path: str, start: int, end: int) -> dict[str, Any]:
    part = LineParser()
    carry = b""
    skipping = False
    with open(path, "rb") as handle:
        handle.seek(start)
        remaining = end - start
        while remaining > 0:
            chunk = handle.read(min(BLOCK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            if skipping:
                cut = chunk.find(b"\n")
                if cut < 0:
                    continue
                chunk, skipping = chunk[cut + 1:], False
            buf = carry + chunk if carry else chunk
            cut = buf.rfind(b"\n")
            if cut < 0:
                carry = buf
                if len(carry) > MAX_LINE:
                    part.lineno += 1
                    part.bad(part.lineno, f"line longer than {MAX_LINE} bytes; skipped", carry[:160].decode(
                        "utf-8", "replace"))
                    carry, skipping = b"", True
                continue
            carry = buf[cut + 1:]
            part.feed_block(memoryview(buf)[:cut])  # no copy: the columnar path copies it once, to rewrite
        if carry and not skipping:
            part.feed_block(carry)
    return part.result()


class _SharedResult:
    """A worker's result arrays in memory shared with its parent (anonymous, mapped before the pool forks):
    pickling a leg's 60 MB of columns, piping and unpickling them took a tenth of the parse, and more on a busy
    machine. Sized for lines of at least SHARED_MIN_LINE bytes; a worker with more lines sends them inline."""

    def __init__(self, range_bytes: int) -> None:
        self.capacity = range_bytes // SHARED_MIN_LINE + 1
        self.area = mmap.mmap(-1, self.capacity * 8 * (1 + len(METRICS)))  # MAP_SHARED: the children see it
        self.lines = np.frombuffer(self.area, dtype=np.int64, count=self.capacity)
        self.columns = np.frombuffer(self.area, dtype=np.float64, offset=self.capacity * 8).reshape(
            len(METRICS), self.capacity)

    def put(self, result: dict[str, Any]) -> None:
        """Worker side: move the arrays in, leaving their count in the result."""
        count = int(result["lines"].shape[0])
        if count > self.capacity:
            return
        self.lines[:count] = result.pop("lines")
        self.columns[:, :count] = result.pop("values").T
        result["shared"] = count

    def take(self, result: dict[str, Any]) -> None:
        """Parent side: views on the shared memory (each metric column contiguous), no copy."""
        count = result.pop("shared", None)
        if count is not None:
            self._map_in(count)
            result["lines"], result["values"] = self.lines[:count], self.columns[:, :count].T

    def _map_in(self, count: int) -> None:
        """Map the worker's pages into this process in one call per column rather than one fault per page when
        the rules first read them (MADV_POPULATE_READ, Linux 5.14+; elsewhere the faults just happen later)."""
        row = self.capacity * 8
        for start in range(0, row * (1 + len(METRICS)), row):
            try:
                self.area.madvise(MADV_POPULATE_READ, start, count * 8)
            except (OSError, ValueError, OverflowError):
                return


#: in a worker, its parent's areas (handed over at fork, never pickled); a task names its area by index
_SHARED: list[_SharedResult | None] = []


def _worker_start(areas: list[_SharedResult | None]) -> None:
    _keep_freed_memory()
    _SHARED[:] = areas


def _parse_range_args(args: tuple[str, int, int, int]) -> dict[str, Any]:
    path, start, end, area = args
    result = _parse_range(path, start, end)
    shared = _SHARED[area] if 0 <= area < len(_SHARED) else None
    if shared is not None:
        shared.put(result)
    return result


def _shared_results(jobs: list[tuple[str, int, int]]) -> list[_SharedResult | None]:
    areas: list[_SharedResult | None] = []
    for _, start, end in jobs:
        try:
            areas.append(_SharedResult(end - start))
        except (OSError, ValueError, OverflowError):  # no room to map it: that worker's result comes inline
            areas.append(None)
    return areas


def usable_cores() -> int:
    """Cores this process may run on (taskset, cgroup cpusets), not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _keep_freed_memory() -> None:
    """Worker start: glibc hands every freed block above its mmap threshold back to the kernel, so each 1 MiB
    block (and its temporaries) is faulted in afresh, a page at a time; measured, that was a third of a worker's
    CPU time as system time. A worker is short-lived: keep freed memory for reuse instead."""
    libc = _libc()
    if libc is not None:
        _thresholds(libc, KEPT_MMAP_THRESHOLD, KEPT_TRIM_THRESHOLD)


def _thresholds(libc: Any, mmap_threshold: int, trim_threshold: int) -> None:
    libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)
    libc.mallopt(M_TRIM_THRESHOLD, trim_threshold)


_kept_depth = 0


@contextmanager
def freed_memory_kept() -> Iterator[None]:
    """`_keep_freed_memory` for this process while a big audit runs (its parse, then its rules, allocate and
    free arrays of a leg's size again and again), then glibc's defaults back, so that a long-lived process such
    as the service hands the memory back afterwards. Nests."""
    global _kept_depth
    libc = _libc()
    if libc is None:
        yield
        return
    if _kept_depth == 0:
        _thresholds(libc, KEPT_MMAP_THRESHOLD, KEPT_TRIM_THRESHOLD)
    _kept_depth += 1
    try:
        yield
    finally:
        _kept_depth -= 1
        if _kept_depth == 0:
            _thresholds(libc, GLIBC_DEFAULT_THRESHOLD, GLIBC_DEFAULT_THRESHOLD)
            libc.malloc_trim(0)


def _libc() -> Any:
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018 - glibc only
        return libc
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return None


def _split(path: Path, size: int, parts: int) -> list[tuple[str, int, int]]:
    """Byte ranges that start just after a newline, so each line belongs to exactly one range."""
    bounds = [0]
    with open(path, "rb") as handle:
        for i in range(1, parts):
            handle.seek(max(bounds[-1], size * i // parts))
            handle.readline()
            position = handle.tell()
            if position >= size:
                break
            if position > bounds[-1]:
                bounds.append(position)
    bounds.append(size)
    return [(str(path), a, b) for a, b in itertools.pairwise(bounds) if b > a]


def read_runs(path: Path, workers: int | None = None) -> RunTable:
    """Parse a runs file (JSONL, or a single vLLM result `.json`) into a RunTable. Raises OSError if unreadable."""
    result = read_runs_many([path], workers)[0]
    if isinstance(result, OSError):
        raise result
    return result


def read_runs_many(paths: list[Path], workers: int | None = None,
                   while_waiting: Callable[[], None] | None = None) -> list[RunTable | OSError]:
    """Parse several runs files, sharing one pool of processes when they are big enough to be worth it.
    `while_waiting` runs in this process once the workers are started (e.g. to import what comes next)."""
    count = workers if workers is not None else min(usable_cores(), 8)
    sizes: list[int | OSError] = []
    for path in paths:
        try:
            if _is_result_dir(path):
                sizes.append(0)  # a folder of per-run .json results, read file by file below
                continue
            if not is_regular(path):
                raise OSError(f"{path} is not a regular file")
            sizes.append(path.stat().st_size)
        except OSError as exc:
            sizes.append(exc)
    total = sum(s for s in sizes if isinstance(s, int))
    jobs: list[list[tuple[str, int, int]]] = []
    for path, size in zip(paths, sizes, strict=True):
        if isinstance(size, OSError) or path.suffix == ".json" or _is_result_dir(path):
            jobs.append([])
            continue
        share = max(1, round(count * size / total)) if total else 1
        jobs.append(_split(path, size, share) if count > 1 and total >= PARALLEL_MIN_BYTES else [(str(path), 0, size)])
    flat = [job for group in jobs for job in group]
    parts: list[dict[str, Any]] | None = None
    if len(flat) > 1 and count > 1 and total >= PARALLEL_MIN_BYTES:
        parts = _parse_parallel(flat, count, while_waiting)
    results: list[RunTable | OSError] = []
    cursor = 0
    for path, size, group in zip(paths, sizes, jobs, strict=True):
        if isinstance(size, OSError):
            results.append(size)
            continue
        try:
            if _is_result_dir(path):
                results.append(_read_result_dir(path))
                continue
            if path.suffix == ".json":
                mine = [_parse_json_file(path, size)]
            elif parts is not None:
                mine = parts[cursor:cursor + len(group)]
            else:
                mine = [_parse_range(*job) for job in group]
        except OSError as exc:
            results.append(exc)
            continue
        finally:
            cursor += len(group)
        results.append(_merge(str(path), mine))
    return results


def _parse_parallel(flat: list[tuple[str, int, int]], count: int,
                    while_waiting: Callable[[], None] | None) -> list[dict[str, Any]] | None:
    """Parse ranges in a pool; this process parses the last one itself (one fork fewer, and its result needs no
    transfer). None when the pool cannot run here (the caller then parses everything in this process)."""
    context = _mp_context()
    forked = context.get_start_method() == "fork"
    areas = _shared_results(flat[:-1]) if forked else []  # mmap objects cross a fork only, never a pickle
    try:
        tasks = [(*job, i if forked else -1) for i, job in enumerate(flat[:-1])]
        with ProcessPoolExecutor(min(count - 1, len(tasks)), mp_context=context,
                                 initializer=_worker_start, initargs=(areas,)) as pool:
            pending = pool.map(_parse_range_args, tasks)
            if while_waiting is not None:
                while_waiting()
            with freed_memory_kept():
                own = _parse_range(*flat[-1])
            parts = list(pending)
        for area, part in zip(areas, parts, strict=False):
            if area is not None:
                area.take(part)  # the parts' views keep their areas mapped as long as they live
        return [*parts, own]
    except (OSError, RuntimeError):
        return None


def _mp_context() -> Any:
    """fork where available: the workers need no re-import, and the parent is single-threaded here."""
    import multiprocessing

    return get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else get_context("spawn")


def _parse_json_file(path: Path, size: int) -> dict[str, Any]:
    part = LineParser()
    if size > MAX_JSON_FILE:
        part.lineno = 1
        part.bad(1, f"JSON file larger than {MAX_JSON_FILE} bytes; not read", "")
        return part.result()
    blob = path.read_bytes()
    text = blob.decode("utf-8", "surrogateescape")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        part.feed(blob.split(b"\n"))  # maybe JSON lines after all (vLLM --append-result); each line on its own
        return part.result()
    items = data if isinstance(data, list) else [data]
    for item in items:
        part.lineno = 0
        part.feed([json.dumps(item).encode("utf-8", "surrogateescape")])
    part.lineno = text.count("\n") + 1
    return part.result()


def _is_result_dir(path: Path) -> bool:
    """A folder given as a leg's runs (not a folder squatting on a runs-file name, which is an I/O error)."""
    return path.is_dir() and path.suffix not in (".jsonl", ".json")


def _read_result_dir(folder: Path) -> RunTable:
    """A folder of per-run result objects: repeat i is file i (its evidence cites that file, line 1)."""
    from referee.bench.io import result_files

    files = result_files(folder)
    parts = []
    for path in files:
        if not is_regular(path):
            raise OSError(f"{path} is not a regular file")
        part = _parse_json_file(path, path.stat().st_size)
        part["total"] = 1  # one repeat per file; line numbers below index the files
        part["lines"] = np.minimum(part["lines"], 1)
        parts.append(part)
    table = _merge(str(folder), parts)
    table.members = [str(p) for p in files]
    return table


def _merge(file: str, parts: list[dict[str, Any]]) -> RunTable:
    table = RunTable(file=file)
    offset = 0
    line_chunks, value_chunks = [], []
    merged: dict[str, list[Seen]] = {"workloads": [], "bases": [], "servers": []}
    windows = []
    for part in parts:
        line_chunks.append(part["lines"] + offset)
        value_chunks.append(part["values"])
        for key in merged:
            for value, first, count in part[key]:
                _merge_seen(merged[key], value, first + offset, count)
        for name, count in part["formats"].items():
            table.formats[name] = table.formats.get(name, 0) + count
        for line, reason, text in part["malformed"]:
            if len(table.malformed) < MAX_KEPT:
                table.malformed.append(Malformed(line + offset, reason, text))
        table.malformed_count += part["malformed_count"]
        table.warmup_lines.extend(w + offset for w in part["warmups"])
        table.co_tenant.extend((line + offset, value) for line, value in part["co_tenant"])
        if part["windows"] is not None:
            windows.append(part["windows"])
        offset += part["total"]
    table.lines = (line_chunks[0] if len(line_chunks) == 1 else np.concatenate(line_chunks)) if line_chunks \
        else np.zeros(0, np.int64)
    # column-major (the audit reads whole metric columns); one part per leg is used as the worker sent it
    if len(value_chunks) == 1:
        only = value_chunks[0]
        table.values = only if only.strides[0] == only.itemsize else np.asfortranarray(only)
    elif value_chunks:
        table.values = np.concatenate(value_chunks, axis=0)
        table.values = np.asfortranarray(table.values)
    else:
        table.values = np.zeros((0, len(METRICS)))
    table.workloads, table.bases, table.servers = merged["workloads"], merged["bases"], merged["servers"]
    if windows:
        table.windows = np.concatenate(windows)
        table.span = (float(table.windows[:, 0].min()), float(table.windows[:, 1].max()))
    table.total_lines = offset
    return table


def _merge_seen(entries: list[Seen], value: Any, first: int, count: int) -> None:
    for entry in entries:
        if entry.value == value:
            entry.count += count
            entry.first_line = min(entry.first_line, first)
            return
    entries.append(Seen(value, first, count))


__all__ = ["NAN", "read_runs"]
