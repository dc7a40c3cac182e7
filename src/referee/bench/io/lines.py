"""Line-level parsing of raw runs: JSON per line, adapter per format, fast paths that stay exact.

- A malformed or truncated line is recorded with its line number and skipped; it never stops the read.
- Lines of one shape (same key set, flat SGLang/vLLM format) are read through a C-level itemgetter template.
- SGLang lines can carry the same multi-kilobyte `server_info` block on every line. When a line contains the
  exact block text of the previous line, that block is swapped for `null` before parsing and the parsed block is
  reused; a check after parsing proves the swap hit the top-level key, otherwise the line is parsed in full.
"""

from __future__ import annotations

import json
from array import array
from operator import itemgetter
from typing import Any

import numpy as np

from referee.bench.config import canonicalize
from referee.bench.io import native, sglang, vllm
from referee.bench.io.nonfinite import MARK_TAG, MARKED, UNMARKED, fast_load, original_bytes, orjson_dict
from referee.bench.model import METRICS, NAN, num

try:  # the columnar path needs msgspec; without it every line takes the per-line path below
    from referee.bench.io import columnar
    from referee.bench.io.identity import Identities
except ImportError:  # pragma: no cover - msgspec is a dependency
    columnar = None  # type: ignore[assignment]

MAX_KEPT = 200
MAX_TEMPLATES = 4
MAX_DISTINCT = 64
SI_KEY = '"server_info"'
SI_KEY_B = SI_KEY.encode()
ADAPTERS = (native, vllm, sglang)
ADAPTER_BY_NAME = {a.NAME: a for a in ADAPTERS}
THROUGHPUT_KEYS = ("output_throughput", "output_token_throughput", "output_throughput_tok_s", "total_throughput")


class Template:
    """A line shape seen before (same key set, flat format): its metrics are read with one C-level itemgetter.

    Exactness: the fast path is taken only when a line has exactly the template's key set, so the key each
    column is read from is the same one the adapter's own `extract` would pick; a null or non-numeric value
    makes `array.fromlist` raise (leaving the array unchanged) and the line falls back to the full path.
    """

    __slots__ = ("adapter", "cols", "date_key", "get", "keys", "lines", "order", "sig", "values", "width")

    def __init__(self, adapter: Any, obj: dict[str, Any]) -> None:
        self.adapter = adapter
        self.keys = frozenset(obj)
        self.order = tuple(obj)
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


class LineParser:
    """Accumulators for one byte range of the file; line numbers are local to the range."""

    def __init__(self) -> None:
        self.lines = array("q")
        self.values = array("d")
        self.templates: list[Template] = []
        self.workloads: list[list[Any]] = []
        self.bases: list[list[Any]] = []
        self.servers: list[list[Any]] = []
        self.formats: dict[str, int] = {}
        self.malformed: list[tuple[int, str, str]] = []
        self.malformed_count = 0
        self.warmups: list[int] = []
        self.co_tenant: list[tuple[int, float]] = []
        self.win_start = array("d")  # per-repeat time windows (end stamp minus duration), where lines have one
        self.win_end = array("d")
        self.lineno = 0
        self.si_pat: bytes | None = None
        self.si_null = b""
        self.si_obj: Any = None
        self.last_sig: Any = object()
        self.last_tmpl: Template | None = None
        self.entries: tuple[list[Any], list[Any], list[Any] | None] = ([], [], None)
        self._raw_server: Any = None
        self.mark_keys: list[str] = []
        self._identity: Any = None
        self.fast_lines: list[np.ndarray] = []  # rows read by the columnar path (`columnar.py`)
        self.fast_values: list[np.ndarray] = []  # METRICS x lines, one array per run of lines
        self.identities = Identities() if columnar is not None else None

    def bad(self, line: int, reason: str, text: str) -> None:
        self.malformed_count += 1
        if len(self.malformed) < MAX_KEPT:
            self.malformed.append((line, reason, text[:160]))

    def feed_block(self, block: bytes | memoryview) -> None:
        """Parse a block of whole lines: the columnar path (`columnar.py`) where the block is SGLang's, else
        line by line here."""
        if columnar is not None and columnar.scan_block(self, block):
            return
        self.feed_lines_block(bytes(block))

    def feed_lines_block(self, block: bytes) -> None:
        """Parse a block of whole lines, one dict per line. Python's json.dumps writes `Infinity`/`NaN`, which
        orjson rejects (SGLang's default `request_rate` is inf): in one pass over the block, `": Infinity`
        becomes a marker string that each line's parse turns back into the float; a line whose marker cannot be
        put back exactly goes to the careful path with its original bytes."""
        if (b"Infinity" in block or b"NaN" in block) and MARK_TAG not in block:
            for literal, marker in MARKED:
                if literal in block:
                    block = block.replace(literal, marker)
            self.feed(block.split(b"\n"), marked=True, loader=orjson_dict)
        else:  # no Infinity/NaN anywhere in the block: plain orjson
            self.feed(block.split(b"\n"), loader=orjson_dict)

    def feed(self, raws: list[bytes], marked: bool = False, loader: Any = None) -> None:
        """Parse raw lines (bytes, no newline). orjson reads the clean lines; a line it rejects goes to the
        careful path (the standard library's parser with its exact error, or Infinity/NaN literals, big ints,
        lone surrogates), so the result is the standard library's on every line."""
        fast = loader or fast_load
        ln = self.lineno
        tmpl: Template | None = self.templates[0] if self.templates else None
        si_key = SI_KEY_B
        si_pat, si_null, si_len = self.si_pat, self.si_null, len(self.si_pat or b"")
        for raw in raws:
            ln += 1
            obj = None
            if si_pat is not None:
                i = raw.find(si_key)
                if i >= 0 and raw.startswith(si_pat, i) and raw.find(si_key, i + 1) < 0:
                    swapped = fast(raw[:i] + si_null + raw[i + si_len:])
                    if swapped is not None and "server_info" in swapped and swapped["server_info"] is None:
                        swapped["server_info"] = self.si_obj
                        obj = swapped
            if obj is None:
                obj = fast(raw)
                if obj is not None and si_key in raw and type(obj.get("server_info")) is dict:
                    self._learn_server_info(raw, obj)
                    si_pat, si_null, si_len = self.si_pat, self.si_null, len(self.si_pat or b"")
            if marked and obj is not None:
                count = raw.count(MARK_TAG)
                if count and not self._unmark(obj, count):
                    obj = None
            if obj is None:
                obj = self._careful(original_bytes(raw) if marked else raw, ln)
                si_pat, si_null, si_len = self.si_pat, self.si_null, len(self.si_pat or b"")
                if obj is None:
                    continue
            # same key order as the template (orjson interns keys, so this is a pointer compare), else set compare
            if tmpl is None or (tuple(obj) != tmpl.order and obj.keys() != tmpl.keys):
                tmpl = next((t for t in self.templates if obj.keys() == t.keys), None)
            if tmpl is not None:
                try:
                    tmpl.values.fromlist(list(tmpl.get(obj)))
                except (TypeError, OverflowError):
                    pass
                else:
                    tmpl.lines.append(ln)  # counted into `formats` once, in result()
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
                            self._stamp(stamp, num(obj.get("duration")), tmpl.adapter.NAME)
                    continue
            self._slow(obj, raw, ln)
        self.lineno = ln

    def _unmark(self, obj: dict[str, Any], count: int) -> bool:
        """Put the floats back for marked top-level values (keys seen marked before are tried first); False
        when some marker sits deeper, which sends the line to the careful path."""
        done = 0
        for key in self.mark_keys:
            value = obj.get(key)
            if type(value) is str and value in UNMARKED:
                obj[key] = UNMARKED[value]
                done += 1
        if done < count:
            for key, value in obj.items():
                if type(value) is str and value in UNMARKED:
                    obj[key] = UNMARKED[value]
                    done += 1
                    if len(self.mark_keys) < MAX_TEMPLATES:
                        self.mark_keys.append(key)
        return done == count

    def _careful(self, raw: bytes, ln: int) -> dict[str, Any] | None:
        """The standard library's reading of one line, with the exact reason when it is not a JSON object."""
        s = raw.decode("utf-8", "surrogateescape").strip()
        if not s:
            return None
        if not s.isascii():
            try:
                s.encode("utf-8")
            except UnicodeEncodeError:
                self.bad(ln, "invalid UTF-8", s)
                return None
        try:
            obj = json.loads(s)
        except ValueError as exc:
            where = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            self.bad(ln, f"not valid JSON ({msg}{where}); truncated or corrupted line", s)
            return None
        except RecursionError:
            self.bad(ln, "JSON nested too deeply", s)
            return None
        if type(obj) is not dict:
            self.bad(ln, f"a JSON {type(obj).__name__}, not an object", s)
            return None
        if SI_KEY in s and isinstance(obj.get("server_info"), dict):
            self._learn_server_info(raw, obj)
        return obj

    def _slow(self, obj: dict[str, Any], raw: bytes, ln: int) -> None:
        adapter = None
        for candidate in ADAPTERS:
            if candidate.detect(obj):
                adapter = candidate
                break
        name = adapter.NAME if adapter is not None else "generic"
        if adapter is None:
            if not any(k in obj for k in THROUGHPUT_KEYS):
                self.bad(ln, "no known benchmark fields (no output_throughput / schema)", _text(raw))
                return
            adapter = sglang
        try:
            metrics, workload, basis, server, warm, co, stamp = adapter.extract(obj)
        except (TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            self.bad(ln, f"unexpected field types ({exc})", _text(raw))
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
                and not any(k in obj for k in getattr(adapter, "SLOW_KEYS", ()))
                and all(obj.keys() != t.keys for t in self.templates)):
            self.templates.append(Template(adapter, obj))

    def _track(self, workload: Any, basis: Any, server: Any, ln: int) -> None:
        w_entry = _distinct(self.workloads, workload, ln)
        b_entry = _distinct(self.bases, basis, ln)
        if server is not None:
            # a launch is identified by its canonical config only: runtime state (`internal_states`), ports and
            # seeds differ on every line or every launch and say nothing about the conditions
            if server is not self._raw_server:
                self._raw_server, self._identity = server, canonicalize(server)
            server = self._identity
        s_entry = _distinct(self.servers, server, ln) if server is not None else None
        self.entries = (w_entry, b_entry, s_entry)

    def track_canonical(self, workload: Any, basis: Any, identity: Any, ln: int, count: int) -> None:
        """`_track` for `count` lines from `ln` on that share workload, basis and an already canonical identity."""
        w_entry = _distinct(self.workloads, workload, ln)
        b_entry = _distinct(self.bases, basis, ln)
        s_entry = _distinct(self.servers, identity, ln) if identity is not None else None
        for entry in (w_entry, b_entry, s_entry):
            if entry is not None:
                entry[2] += count - 1
        self.entries = (w_entry, b_entry, s_entry)

    def _learn_server_info(self, raw: bytes, obj: dict[str, Any]) -> None:
        """Remember the exact bytes of this line's `server_info` value, so later lines that repeat it byte for
        byte skip re-parsing it. ASCII lines without escapes only, so character and byte offsets agree."""
        if not raw.isascii() or raw.count(SI_KEY_B) != 1 or (b"\\u" in raw and b"\\u" in original_bytes(raw)):
            return
        s = raw.decode("ascii")
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
        self.si_pat, self.si_null, self.si_obj = raw[k:end], raw[k:j] + b"null", obj["server_info"]

    def _stamp(self, stamp: Any, duration: float, adapter: str) -> None:
        """One repeat's time window: its end stamp and, where the line has one, its duration."""
        end = ADAPTER_BY_NAME[adapter].epoch(stamp)
        if end != end:  # NaN: no usable stamp
            return
        self.win_end.append(end)
        self.win_start.append(end - duration if duration == duration and duration >= 0 else end)

    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """All rows (fast-path templates and full-path lines) as one matrix, in line order, column-major: the
        pieces are joined as METRICS x lines, whose transpose needs no copy (the audit reads whole columns)."""
        width = len(METRICS)
        lines = [np.frombuffer(self.lines, dtype=np.int64)] if len(self.lines) else []
        blocks = [np.frombuffer(self.values, dtype=np.float64).reshape(-1, width).T] if len(self.lines) else []
        lines += self.fast_lines
        blocks += self.fast_values
        for t in self.templates:
            if not len(t.lines):
                continue
            block = np.full((width, len(t.lines)), NAN)
            block[t.cols] = np.frombuffer(t.values, dtype=np.float64).reshape(-1, t.width).T
            lines.append(np.frombuffer(t.lines, dtype=np.int64))
            blocks.append(block)
        if not lines:
            return np.zeros(0, np.int64), np.zeros((0, width))
        all_lines = np.concatenate(lines)
        values = np.concatenate(blocks, axis=1).T
        if len(all_lines) > 1 and not (all_lines[1:] > all_lines[:-1]).all():
            order = np.argsort(all_lines, kind="stable")
            all_lines, values = all_lines[order], np.asfortranarray(values[order])
        return all_lines, values

    def result(self) -> dict[str, Any]:
        lines, values = self.columns()
        windows = np.column_stack([np.frombuffer(self.win_start, dtype=np.float64),
                                   np.frombuffer(self.win_end, dtype=np.float64)]) if len(self.win_end) else None
        formats = dict(self.formats)  # the columnar path counts its rows into `formats` itself
        for t in self.templates:
            if len(t.lines):
                formats[t.adapter.NAME] = formats.get(t.adapter.NAME, 0) + len(t.lines)
        return {"lines": lines, "values": values, "workloads": self.workloads, "bases": self.bases,
                "servers": self.servers, "formats": formats, "malformed": self.malformed,
                "malformed_count": self.malformed_count, "warmups": self.warmups, "co_tenant": self.co_tenant,
                "windows": windows, "total": self.lineno}


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").strip()


def _distinct(entries: list[list[Any]], value: Any, line: int) -> list[Any]:
    """Count a value among the distinct ones seen. Capped, so a file whose every line differs (or holds NaN,
    which equals nothing) costs linear time; past the cap, counts go to the last entry."""
    for entry in entries:
        if entry[0] == value:
            entry[2] += 1
            return entry
    if len(entries) >= MAX_DISTINCT:
        entries[-1][2] += 1
        return entries[-1]
    entry = [value, line, 1]
    entries.append(entry)
    return entry
