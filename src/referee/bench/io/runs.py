"""Streaming reader for a raw runs file (`bench_runs.jsonl`): every line parsed, none trusted, none lost.

Why it is shaped like this:
- A malformed or truncated line is recorded with its line number and skipped; it never stops the read.
- Files are read in blocks and only the fields the audit needs are kept, as numpy columns, so a million-line
  leg costs one pass and a few tens of megabytes.
- SGLang lines can carry the same multi-kilobyte `server_info` block on every line. When a line contains the
  exact block text of the previous line, that block is swapped for `null` before parsing and the parsed block is
  reused; a check after parsing proves the swap hit the top-level key, otherwise the line is parsed in full.
- Big files are split at line boundaries across processes (one per core); line numbers stay exact.
"""

from __future__ import annotations

import json
import os
from array import array
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from referee.bench.io import native, sglang, vllm
from referee.bench.model import METRICS, NAN, Malformed, RunTable, Seen, num

BLOCK = 8 << 20
MAX_LINE = 32 << 20
PARALLEL_MIN_BYTES = 48 << 20
MAX_KEPT = 200
MAX_TEMPLATES = 4
MAX_JSON_FILE = 512 << 20
SI_KEY = '"server_info"'
ADAPTERS = (native, vllm, sglang)
ADAPTER_BY_NAME = {a.NAME: a for a in ADAPTERS}
THROUGHPUT_KEYS = ("output_throughput", "output_token_throughput", "output_throughput_tok_s", "total_throughput")


class _Template:
    """A line shape seen before (same key set, flat format): its metrics are read with one C-level itemgetter.

    Exactness: the fast path is taken only when a line has exactly the template's key set, so the key each
    column is read from is the same one the adapter's own `extract` would pick; a null or non-numeric value
    makes `array.fromlist` raise (leaving the array unchanged) and the line falls back to the full path.
    """

    __slots__ = ("adapter", "cols", "date_key", "get", "keys", "lines", "sig", "values", "width")

    def __init__(self, adapter: Any, obj: dict[str, Any]) -> None:
        self.adapter = adapter
        self.keys = frozenset(obj)
        picked = [(i, next((k for k in keys if k in obj), None)) for i, (_, keys) in enumerate(adapter.FAST)]
        picked = [(i, k) for i, k in picked if k is not None]
        self.cols = [i for i, _ in picked]
        self.width = len(self.cols)
        self.get = _getter([k for _, k in picked])
        self.sig = _getter([k for k in adapter.SIGNATURE if k in obj])
        self.date_key = adapter.DATE_KEY if adapter.DATE_KEY in obj else None
        self.lines = array("q")
        self.values = array("d")


def _getter(keys: list[str]) -> Any:
    if not keys:
        return lambda obj: ()
    if len(keys) == 1:
        key = keys[0]
        return lambda obj: (obj[key],)
    return itemgetter(*keys)


class _Part:
    """Accumulators for one byte range of the file; line numbers are local to the range."""

    def __init__(self) -> None:
        self.lines = array("q")
        self.values = array("d")
        self.templates: list[_Template] = []
        self.workloads: list[list[Any]] = []
        self.bases: list[list[Any]] = []
        self.servers: list[list[Any]] = []
        self.formats: dict[str, int] = {}
        self.malformed: list[tuple[int, str, str]] = []
        self.malformed_count = 0
        self.warmups: list[int] = []
        self.co_tenant: list[tuple[int, float]] = []
        self.stamp_min: tuple[Any, float, str] | None = None
        self.stamp_max: tuple[Any, str] | None = None
        self.lineno = 0
        self.si_pat: str | None = None
        self.si_null = ""
        self.si_obj: Any = None
        self.last_sig: Any = object()
        self.last_tmpl: _Template | None = None
        self.entries: tuple[list[Any], list[Any], list[Any] | None] = ([], [], None)

    def bad(self, line: int, reason: str, text: str) -> None:
        self.malformed_count += 1
        if len(self.malformed) < MAX_KEPT:
            self.malformed.append((line, reason, text[:160]))

    def feed(self, texts: list[str]) -> None:
        loads = json.loads
        ln = self.lineno
        tmpl: _Template | None = self.templates[0] if self.templates else None
        for raw in texts:
            ln += 1
            s = raw.strip()
            if not s:
                continue
            if not s.isascii():
                try:
                    s.encode("utf-8")
                except UnicodeEncodeError:
                    self.bad(ln, "invalid UTF-8", s)
                    continue
            obj = None
            if self.si_pat is not None and SI_KEY in s and "\\u" not in s and s.count(SI_KEY) == 1:
                i = s.find(SI_KEY)
                if s.startswith(self.si_pat, i):
                    try:
                        swapped = loads(s[:i] + self.si_null + s[i + len(self.si_pat):])
                    except (ValueError, RecursionError):
                        swapped = None
                    if type(swapped) is dict and "server_info" in swapped and swapped["server_info"] is None:
                        swapped["server_info"] = self.si_obj
                        obj = swapped
            if obj is None:
                try:
                    obj = loads(s)
                except ValueError as exc:
                    where = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
                    msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                    self.bad(ln, f"not valid JSON ({msg}{where}); truncated or corrupted line", s)
                    continue
                except RecursionError:
                    self.bad(ln, "JSON nested too deeply", s)
                    continue
                if type(obj) is not dict:
                    self.bad(ln, f"a JSON {type(obj).__name__}, not an object", s)
                    continue
                if SI_KEY in s and isinstance(obj.get("server_info"), dict):
                    self._learn_server_info(s, obj)
            if tmpl is None or obj.keys() != tmpl.keys:
                tmpl = next((t for t in self.templates if obj.keys() == t.keys), None)
            if tmpl is not None:
                try:
                    tmpl.values.fromlist(list(tmpl.get(obj)))
                except TypeError:
                    pass
                else:
                    tmpl.lines.append(ln)
                    name = tmpl.adapter.NAME
                    self.formats[name] = self.formats.get(name, 0) + 1
                    sig = tmpl.sig(obj)
                    if sig == self.last_sig and tmpl is self.last_tmpl:
                        w_entry, b_entry, s_entry = self.entries
                        w_entry[2] += 1
                        b_entry[2] += 1
                        if s_entry is not None:
                            s_entry[2] += 1
                    else:
                        _, workload, basis, server, _, _, _ = tmpl.adapter.extract(obj)
                        self._track(workload, basis, server, ln)
                        self.last_sig, self.last_tmpl = sig, tmpl
                    if tmpl.date_key is not None:
                        stamp = obj[tmpl.date_key]
                        if isinstance(stamp, str):
                            self._stamp(stamp, num(obj.get("duration")), name)
                    continue
            self._slow(obj, s, ln)
        self.lineno = ln

    def _slow(self, obj: dict[str, Any], s: str, ln: int) -> None:
        adapter = None
        for candidate in ADAPTERS:
            if candidate.detect(obj):
                adapter = candidate
                break
        name = adapter.NAME if adapter is not None else "generic"
        if adapter is None:
            if not any(k in obj for k in THROUGHPUT_KEYS):
                self.bad(ln, "no known benchmark fields (no output_throughput / schema)", s)
                return
            adapter = sglang
        try:
            metrics, workload, basis, server, warm, co, stamp = adapter.extract(obj)
        except (TypeError, ValueError, AttributeError) as exc:
            self.bad(ln, f"unexpected field types ({exc})", s)
            return
        self.formats[name] = self.formats.get(name, 0) + 1
        if warm:
            self.warmups.append(ln)
            return
        self.lines.append(ln)
        self.values.extend(metrics)
        self._track(workload, basis, server, ln)
        self.last_sig = object()
        if co is not None and co > 0 and len(self.co_tenant) < MAX_KEPT:
            self.co_tenant.append((ln, co))
        if stamp == stamp and stamp is not None:  # not NaN
            self._stamp(stamp, metrics[-1], name)
        if (name != "generic" and hasattr(adapter, "FAST") and len(self.templates) < MAX_TEMPLATES
                and all(obj.keys() != t.keys for t in self.templates)):
            self.templates.append(_Template(adapter, obj))

    def _track(self, workload: Any, basis: Any, server: Any, ln: int) -> None:
        w_entry = _distinct(self.workloads, workload, ln)
        b_entry = _distinct(self.bases, basis, ln)
        s_entry = _distinct(self.servers, server, ln) if server is not None else None
        self.entries = (w_entry, b_entry, s_entry)

    def _learn_server_info(self, s: str, obj: dict[str, Any]) -> None:
        if "\\u" in s or s.count(SI_KEY) != 1:
            return
        k = s.find(SI_KEY)
        j = k + len(SI_KEY)
        while j < len(s) and s[j] in " \t":
            j += 1
        if j >= len(s) or s[j] != ":":
            return
        j += 1
        while j < len(s) and s[j] in " \t":
            j += 1
        try:
            _, end = json.JSONDecoder().raw_decode(s, j)
        except ValueError:
            return
        self.si_pat, self.si_null, self.si_obj = s[k:end], s[k:j] + "null", obj["server_info"]

    def _stamp(self, stamp: Any, duration: float, adapter: str) -> None:
        try:
            if self.stamp_min is None or stamp < self.stamp_min[0]:
                self.stamp_min = (stamp, duration, adapter)
            if self.stamp_max is None or stamp > self.stamp_max[0]:
                self.stamp_max = (stamp, adapter)
        except TypeError:
            return

    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """All rows (fast-path templates and full-path lines) as one matrix, in line order."""
        width = len(METRICS)
        lines = [np.frombuffer(self.lines, dtype=np.int64)] if len(self.lines) else []
        blocks = [np.frombuffer(self.values, dtype=np.float64).reshape(-1, width)] if len(self.lines) else []
        for t in self.templates:
            if not len(t.lines):
                continue
            block = np.full((len(t.lines), width), NAN)
            block[:, t.cols] = np.frombuffer(t.values, dtype=np.float64).reshape(-1, t.width)
            lines.append(np.frombuffer(t.lines, dtype=np.int64))
            blocks.append(block)
        if not lines:
            return np.zeros(0, np.int64), np.zeros((0, width))
        all_lines = np.concatenate(lines)
        order = np.argsort(all_lines, kind="stable")
        return all_lines[order], np.concatenate(blocks)[order]

    def result(self) -> dict[str, Any]:
        span = None
        if self.stamp_min is not None and self.stamp_max is not None:
            first, duration, name = self.stamp_min
            start = ADAPTER_BY_NAME[name].epoch(first)
            start = start - duration if duration == duration else start
            span = (start, ADAPTER_BY_NAME[self.stamp_max[1]].epoch(self.stamp_max[0]))
        lines, values = self.columns()
        return {"lines": lines, "values": values, "workloads": self.workloads, "bases": self.bases,
                "servers": self.servers, "formats": self.formats, "malformed": self.malformed,
                "malformed_count": self.malformed_count, "warmups": self.warmups, "co_tenant": self.co_tenant,
                "span": span, "total": self.lineno}


def _distinct(entries: list[list[Any]], value: Any, line: int) -> list[Any]:
    for entry in entries:
        if entry[0] == value:
            entry[2] += 1
            return entry
    entry = [value, line, 1]
    entries.append(entry)
    return entry


def _parse_range(path: str, start: int, end: int) -> dict[str, Any]:
    part = _Part()
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
            part.feed(buf[:cut].decode("utf-8", "surrogateescape").split("\n"))
        if carry and not skipping:
            part.feed([carry.decode("utf-8", "surrogateescape")])
    return part.result()


def _parse_range_args(args: tuple[str, int, int]) -> dict[str, Any]:
    return _parse_range(*args)


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
    return [(str(path), a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


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
    count = workers if workers is not None else min(os.cpu_count() or 1, 8)
    sizes: list[int | OSError] = []
    for path in paths:
        try:
            sizes.append(path.stat().st_size)
        except OSError as exc:
            sizes.append(exc)
    total = sum(s for s in sizes if isinstance(s, int))
    jobs: list[list[tuple[str, int, int]]] = []
    for path, size in zip(paths, sizes, strict=True):
        if isinstance(size, OSError) or path.suffix == ".json":
            jobs.append([])
            continue
        share = max(1, round(count * size / total)) if total else 1
        jobs.append(_split(path, size, share) if count > 1 and total >= PARALLEL_MIN_BYTES else [(str(path), 0, size)])
    flat = [job for group in jobs for job in group]
    parts: list[dict[str, Any]] | None = None
    if len(flat) > 1 and count > 1 and total >= PARALLEL_MIN_BYTES:
        try:
            with ProcessPoolExecutor(min(count, len(flat)), mp_context=_mp_context()) as pool:
                pending = pool.map(_parse_range_args, flat)
                if while_waiting is not None:
                    while_waiting()
                parts = list(pending)
        except (OSError, RuntimeError):
            parts = None
    results: list[RunTable | OSError] = []
    cursor = 0
    for path, size, group in zip(paths, sizes, jobs, strict=True):
        if isinstance(size, OSError):
            results.append(size)
            continue
        try:
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


def _mp_context() -> Any:
    """fork where available: the workers need no re-import, and the parent is single-threaded here."""
    import multiprocessing

    return get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else get_context("spawn")


def _parse_json_file(path: Path, size: int) -> dict[str, Any]:
    part = _Part()
    if size > MAX_JSON_FILE:
        part.lineno = 1
        part.bad(1, f"JSON file larger than {MAX_JSON_FILE} bytes; not read", "")
        return part.result()
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        part.feed(text.split("\n"))  # maybe JSON lines after all; each line is judged on its own
        return part.result()
    items = data if isinstance(data, list) else [data]
    for item in items:
        part.lineno = 0
        part.feed([json.dumps(item)])
    part.lineno = text.count("\n") + 1
    return part.result()


def _merge(file: str, parts: list[dict[str, Any]]) -> RunTable:
    table = RunTable(file=file)
    offset = 0
    line_chunks, value_chunks = [], []
    merged: dict[str, list[Seen]] = {"workloads": [], "bases": [], "servers": []}
    spans = []
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
        if part["span"] is not None:
            spans.append(part["span"])
        offset += part["total"]
    table.lines = np.concatenate(line_chunks) if line_chunks else np.zeros(0, np.int64)
    table.values = np.concatenate(value_chunks) if value_chunks else np.zeros((0, len(METRICS)))
    table.workloads, table.bases, table.servers = merged["workloads"], merged["bases"], merged["servers"]
    finite = [s for s in spans if s[0] == s[0] and s[1] == s[1]]
    if finite:
        table.span = (min(s[0] for s in finite), max(s[1] for s in finite))
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
