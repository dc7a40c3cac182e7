"""Columnar fast path for SGLang `bench_serving` lines: no dict per line, the careful path only where one fails.

msgspec decodes each line of a block into a small struct that declares only the fields the audit reads. It
validates the whole line at C speed and skips everything else; `server_info` is kept as raw bytes. Metrics become
numpy columns once per block. Workload, basis and launch identity are looked at only where they change from one
line to the next. A line this path cannot read exactly as the standard library would (not JSON to msgspec, a value
of another type, NaN, a nested or compact `Infinity`, another producer's format) goes, in line order, to the
careful per-line path in `lines.py`, which records its exact reason and line number.

Exactness, where it needs an argument:
- Python's json.dumps writes `": Infinity`; those bytes become `": 1e999999`, which the standard library also
  reads as inf, so at a value position nothing changes (values other than metrics stay raw bytes and are read by
  the standard library; a metric holding it is out of float range for msgspec, and its line goes careful). A
  digit right after the text would make a new number, so there it is not rewritten (the line then fails to
  decode and goes careful). Inside a string the text does change: a declared value or a `server_info` that holds
  the text `1e999999` sends its line to the careful path; text in skipped fields cannot change what the audit
  reads.
- msgspec skips unknown values without checking UTF-8, so a line that is not valid UTF-8 goes careful.
- A block is decoded in one call only where each line provably holds one object (`decode_all`), else line by
  line, so a line counts only when it is one JSON object on its own.
- Launch identities (`identity.py`) are computed once per distinct config, cheaply line to line.
- A NaN in a float column can only mean null or absent (JSON has no NaN; msgspec rejects it), so "first key
  that is not None" is "first column that is not NaN".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import chain, compress, pairwise
from operator import attrgetter, itemgetter, ne
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np
from msgspec import Raw, Struct

from referee.bench.io import sglang
from referee.bench.io.identity import CAREFUL, REWRITTEN_B
from referee.bench.model import METRICS, NAN, num

if TYPE_CHECKING:
    from referee.bench.io.lines import LineParser

EMPTY = Raw(b"")
INF_TEXT, INF_SAFE = b": Infinity", b": 1e999999"  # same length: one in-place pass
NEWLINE, CR, OPEN, CLOSE = 10, 13, ord("{"), ord("}")
ZERO = np.zeros(1, dtype=np.int64)
SPAN = np.arange(len(INF_TEXT))
INF_CODES = np.frombuffer(INF_TEXT, dtype=np.uint8)
SAFE_CODES = np.frombuffer(INF_SAFE, dtype=np.uint8)
PROBE_LINES = 8


class SGLangLine(Struct, gc=False):
    """What `sglang.extract` reads from one line, and the keys that tell the producer apart. Values that are
    constant over a run of lines stay raw bytes (compared as bytes, read with the standard library once per run);
    metrics are floats, read by msgspec. The fallback keys (a mean where the median is null, other releases'
    throughput names) are left to `FallbackLine`: every declared field makes msgspec's look-up of each key it
    skips longer, and most lines never need them."""

    # in the order SGLang writes them (msgspec looks for the next declared field first), with everything that is
    # constant over a run first (one slice of `astuple` is a line's signature) and the metrics together
    backend: Raw = EMPTY
    dataset_name: Raw = EMPTY
    request_rate: Raw = EMPTY
    max_concurrency: Raw = EMPTY
    random_input_len: Raw = EMPTY
    random_output_len: Raw = EMPTY
    random_range_ratio: Raw = EMPTY
    # other releases and other producers (absent from SGLang's lines, so their place costs no look-up)
    num_prompts: Raw = EMPTY
    temperature: Raw = EMPTY
    ignore_eos: Raw = EMPTY
    metric_basis: Raw = EMPTY
    schema: Raw = EMPTY  # native (`bench_run/...`) when it holds that text
    endpoint_type: Raw = EMPTY  # any of these four present: vLLM
    median_e2el_ms: Raw = EMPTY
    burstiness: Raw = EMPTY
    model_id: Raw = EMPTY
    server_info: Raw = EMPTY
    # metrics: NaN where absent, None where null (both mean "not there"; NaN lets a block go to numpy at once)
    duration: float | None = NAN
    completed: float | None = NAN
    total_input_tokens: float | None = NAN
    total_output_tokens: float | None = NAN
    request_throughput: float | None = NAN
    output_throughput: float | None = NAN
    total_throughput: float | None = NAN
    median_e2e_latency_ms: float | None = NAN
    median_ttft_ms: float | None = NAN
    p99_ttft_ms: float | None = NAN
    median_tpot_ms: float | None = NAN
    p99_tpot_ms: float | None = NAN
    median_itl_ms: float | None = NAN
    failed: float | None = NAN
    errors: Raw = EMPTY


class FallbackLine(Struct, gc=False):
    """The keys `sglang.extract` reads only where the first key of a metric is null or absent."""

    mean_e2e_latency_ms: float | None = None
    mean_ttft_ms: float | None = None
    mean_tpot_ms: float | None = None
    mean_itl_ms: float | None = None
    output_token_throughput: float | None = None
    output_throughput_tok_s: float | None = None
    total_token_throughput: float | None = None


#: METRICS column -> float fields in priority order (the first that is not null), as `sglang.extract` reads them.
COLUMN_SOURCES: dict[str, tuple[str, ...]] = {
    "output_throughput": ("output_throughput", "output_token_throughput", "output_throughput_tok_s"),
    "total_token_throughput": ("total_throughput", "total_token_throughput"),
    "request_throughput": ("request_throughput",), "ttft_ms": ("median_ttft_ms", "mean_ttft_ms"),
    "ttft_p99_ms": ("p99_ttft_ms",), "tpot_ms": ("median_tpot_ms", "mean_tpot_ms"), "tpot_p99_ms": ("p99_tpot_ms",),
    "itl_ms": ("median_itl_ms", "mean_itl_ms"), "e2el_ms": ("median_e2e_latency_ms", "mean_e2e_latency_ms"),
    "completed": ("completed",), "failed": ("failed",), "input_tokens": ("total_input_tokens",),
    "output_tokens": ("total_output_tokens",), "duration_s": ("duration",),
}
PRIMARY = [(METRICS.index(name), sources[0]) for name, sources in COLUMN_SOURCES.items()]
FIELDS = SGLangLine.__struct_fields__
METRIC_SLICE = slice(FIELDS.index("duration"), FIELDS.index("failed") + 1)
#: METRICS rows of the metric fields, in the struct's order
PRIMARY_ROWS = [dict((field, j) for j, field in PRIMARY)[field] for field in FIELDS[METRIC_SLICE]]
GET_METRICS = itemgetter(METRIC_SLICE)
FALLBACKS = [(METRICS.index(name), sources[1:]) for name, sources in COLUMN_SOURCES.items() if len(sources) > 1]
FALLBACK_ROWS = [j for j, _ in FALLBACKS]
#: everything constant over a run of lines: detection keys, workload, basis (server_info is compared apart).
SIG_FIELDS = FIELDS[:FIELDS.index("server_info")]
GET_SIG = attrgetter(*SIG_FIELDS)
GET_SIG_ROW = itemgetter(slice(0, len(SIG_FIELDS)))  # a line's signature from its `astuple` row
AS_TUPLE = msgspec.structs.astuple
GET_SERVER = attrgetter("server_info")
GET_ERRORS = attrgetter("errors")
DECODE = msgspec.json.Decoder(SGLangLine).decode
DECODE_LINES = msgspec.json.Decoder(SGLangLine).decode_lines
DECODE_FALLBACK = msgspec.json.Decoder(FallbackLine).decode
DECODE_ERRORS = (msgspec.DecodeError, RecursionError)
ABSENT = object()


_READ_SIGS: dict[tuple[Any, ...], dict[str, Any] | None] = {}
READ_SIGS_KEPT = 64


def read_sig(sig: tuple[Raw, ...], rewritten: bool) -> dict[str, Any] | None:
    """The standard library's reading of a run's raw values (ABSENT for a key the line lacks); None when a value
    holds the rewritten text somewhere it may have been text, so the run takes the careful path. Kept per
    distinct raw signature: every block of a run asks again (the result is shared: read it, never change it)."""
    key = (rewritten, *map(bytes, sig))
    if key in _READ_SIGS:
        return _READ_SIGS[key]
    if len(_READ_SIGS) >= READ_SIGS_KEPT:
        _READ_SIGS.clear()
    _READ_SIGS[key] = found = _read_sig(sig, rewritten)
    return found


def _read_sig(sig: tuple[Raw, ...], rewritten: bool) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for name, raw in zip(SIG_FIELDS, sig, strict=True):
        if not len(raw):
            out[name] = ABSENT
            continue
        data = bytes(raw)
        if rewritten and REWRITTEN_B in data and data not in (REWRITTEN_B, b"-" + REWRITTEN_B):
            return None
        out[name] = json.loads(data)
    return out


def eligible(values: dict[str, Any], server: Raw) -> bool:
    """The adapter `lines._slow` would pick is SGLang's (native and vLLM are detected first)."""
    schema = values["schema"]
    if isinstance(schema, str) and schema.startswith("bench_run/"):
        return False
    if any(values[k] is not ABSENT for k in ("endpoint_type", "median_e2el_ms", "burstiness", "model_id")):
        return False
    return len(server) > 0 or values["random_input_len"] is not ABSENT or values["backend"] == "sglang"


def workload_of(values: dict[str, Any]) -> tuple[Any, ...]:
    g = {k: (None if v is ABSENT else v) for k, v in values.items()}
    return (g["dataset_name"], g["random_input_len"], g["random_output_len"], g["random_range_ratio"],
            g["max_concurrency"], g["request_rate"], g["num_prompts"], sglang.CLIENT, g["temperature"],
            g["ignore_eos"])


def columns(rows: list[tuple[Any, ...]], line_of: Callable[[int], memoryview]) -> tuple[np.ndarray, list[int]]:
    """METRICS x lines (one row per metric: the worker's result is column-major without a transposing copy of
    the whole leg) for decoded lines, as `astuple` rows (num_prompts and the `errors` count are filled in by the
    caller), and the
    lines the careful path must read after all. The fallback keys are read only for the lines whose first key
    is null or absent (`line_of(i)`: line i's bytes as decoded)."""
    n = len(rows)
    out = np.full((len(METRICS), n), NAN)
    try:  # a null metric (None) makes fromiter fail: then the slower conversion that reads None as NaN
        metrics = np.fromiter(chain.from_iterable(map(GET_METRICS, rows)), np.float64, n * len(PRIMARY))
    except TypeError:
        metrics = np.array(list(map(GET_METRICS, rows)), dtype=np.float64)
    out[PRIMARY_ROWS] = metrics.reshape(n, len(PRIMARY)).T
    careful = []
    for i in np.flatnonzero(np.isnan(out[FALLBACK_ROWS]).any(axis=0)).tolist():
        if not fill_fallbacks(out[:, i], line_of(i)):
            careful.append(i)
    return out, careful


def fill_fallbacks(column: np.ndarray, line: memoryview) -> bool:
    """`sglang.extract`'s fallback keys for one line: the first that is not null, as `num` reads it. msgspec
    where the values are numbers, else the standard library (a string such as "12.5" is a number to `num`).
    False when the standard library cannot read the line (the careful path then reports it)."""
    try:
        values: Any = DECODE_FALLBACK(line)
        get = values.__getattribute__
    except DECODE_ERRORS:
        try:
            get = json.loads(bytes(line)).get
        except (ValueError, RecursionError, AttributeError):
            return False
    for j, sources in FALLBACKS:
        if column[j] == column[j]:  # the first key was there
            continue
        for key in sources:
            value = get(key)
            if value is not None:
                column[j] = num(value)
                break
    return True


def failed_from_errors(raw: Raw, fallback: float) -> float:
    """`sglang._failed`: a list of per-request errors counts its non-empty entries; otherwise `failed`."""
    errors = json.loads(bytes(raw))
    return float(sum(1 for e in errors if e)) if isinstance(errors, list) else fallback


def scan_block(parser: LineParser, block: bytes | memoryview) -> bool:
    """Read a block of whole lines into `parser`. False (nothing read) when the block is not for this path."""
    work = bytearray(block)  # rewritten in place; `block` keeps the original bytes for the careful path
    view = np.frombuffer(work, dtype=np.uint8)
    ends = newlines(work)
    starts = np.concatenate((ZERO, ends + 1))
    ends = np.concatenate((ends, [len(work)]))
    not_utf8 = set() if work.isascii() else invalid_utf8(work, starts, ends)
    rewritten = rewrite_infinity(work, view, starts, ends)  # reads `work` before it writes
    structs = decode_all(work, view, starts, ends) if not not_utf8 else None
    if structs is None:
        structs = []
        for i, line in enumerate(map(memoryview(work).__getitem__, map(slice, starts.tolist(), ends.tolist()))):
            struct, again = decode_line(line) if i not in not_utf8 else (None, False)
            structs.append(struct)
            rewritten = rewritten or again
    first = structs[0]
    if first is not None:
        values = read_sig(GET_SIG(first), rewritten)
        if values is not None and not eligible(values, first.server_info):
            return False
    _Reader(parser, block, structs, rewritten, (work, starts, ends)).run()
    return True


def newlines(block: bytearray) -> np.ndarray:
    """Offsets of every newline. A find loop: about twice as fast as a vectorised compare on ~2 KB lines, since
    it touches each line once and allocates nothing the size of the block."""
    found = []
    find, at = block.find, block.find(NEWLINE)
    while at >= 0:
        found.append(at)
        at = find(NEWLINE, at + 1)
    return np.array(found, dtype=np.int64)


def invalid_utf8(block: bytearray, starts: np.ndarray, ends: np.ndarray) -> set[int]:
    """Lines that are not UTF-8 (msgspec skips unknown text without checking it): the careful path reads them."""
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return set()
    bad = set()
    for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        try:
            block[a:b].decode("utf-8")
        except UnicodeDecodeError:
            bad.add(i)
    return bad


def rewrite_infinity(block: bytearray, view: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bool:
    """Rewrite `": Infinity` to `": 1e999999` in every line that has it at the offset the first lines show it,
    checked line by line (vectorised). A line with it elsewhere is not rewritten here (it fails to decode and
    `decode_line` takes it alone). True when something was rewritten."""
    offset = None
    for i in range(min(PROBE_LINES, len(starts))):
        at = block.find(INF_TEXT, int(starts[i]), int(ends[i]))
        if at >= 0:
            offset = at - int(starts[i])
            break
    if offset is None:
        return False
    at = starts + offset
    at = at[at + len(INF_TEXT) < ends]  # room for the text and the byte after it, inside the line
    hit = (view[at[:, None] + SPAN] == INF_CODES).all(axis=1)
    after = view[at + len(INF_TEXT)]
    hit &= (after < ord("0")) | (after > ord("9"))  # a digit after it would make a new number
    at = at[hit]
    view[at[:, None] + SPAN] = SAFE_CODES
    return len(at) > 0


def decode_all(work: bytearray, view: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[Any] | None:
    """msgspec's decode_lines reads whitespace-separated values, not lines. It is exact here when every line
    starts with `{` and ends with `}` (or `}\\r`): no value can then run from one line into the next (after a
    closing brace only `,` or a closer may follow inside a container), so n values from n lines means one object
    per line, as a line-by-line decode would read them. None when that cannot be shown or a line fails."""
    if (ends <= starts).any() or not (view[starts] == OPEN).all():
        return None
    last = view[ends - 1]
    crlf = last == CR
    if crlf.any():
        if (ends[crlf] - 2 < starts[crlf]).any():
            return None
        last = np.where(crlf, view[np.maximum(ends - 2, 0)], last)
    if not (last == CLOSE).all():
        return None
    try:
        structs = DECODE_LINES(work)
    except DECODE_ERRORS:
        return None
    return structs if len(structs) == len(starts) else None


def decode_line(line: memoryview) -> tuple[SGLangLine | None, bool]:
    """One line alone; a line whose `": Infinity` was not rewritten at the block's offset is rewritten here.
    Returns the struct (None: the careful path reads it) and whether it was rewritten."""
    try:
        return DECODE(line), False
    except DECODE_ERRORS:
        pass
    data = bytes(line)
    if INF_TEXT not in data:
        return None, False
    parts = data.split(INF_TEXT)
    if any(p[:1].isdigit() for p in parts[1:]):
        return None, False
    try:
        return DECODE(INF_SAFE.join(parts)), True
    except DECODE_ERRORS:
        return None, False


class _Reader:
    """One block: runs of good lines in bulk, any other line through the careful path, all in line order."""

    def __init__(self, parser: LineParser, block: bytes | memoryview, structs: list[Any], rewritten: bool,
                 decoded: tuple[bytearray, np.ndarray, np.ndarray]) -> None:
        self.parser, self.block, self.structs, self.rewritten = parser, block, structs, rewritten
        self.decoded = decoded  # the rewritten block and its line starts and ends: what msgspec read
        self.base = parser.lineno
        self.originals: list[bytes] | None = None

    def run(self) -> None:
        self.split(0, len(self.structs))
        self.parser.lineno = self.base + len(self.structs)

    def split(self, a: int, b: int) -> None:
        """Lines [a, b): runs of decoded lines in bulk, the others one by one, in line order."""
        structs = self.structs
        whole = (a, b) == (0, len(structs))
        if None not in (structs if whole else structs[a:b]):
            self.good(a, b)
            return
        start = a
        for i in range(a, b + 1):
            if i == b or structs[i] is None:
                if i > start:
                    self.good(start, i)
                if i < b:
                    self.careful(i)
                start = i + 1

    def line_of(self, i: int) -> memoryview:
        work, starts, ends = self.decoded
        return memoryview(work)[int(starts[i]):int(ends[i])]

    def careful(self, i: int) -> None:
        if self.originals is None:
            self.originals = bytes(self.block).split(b"\n")
        parser = self.parser
        parser.lineno = self.base + i
        parser.last_sig = object()
        parser.feed([self.originals[i]])

    def good(self, a: int, b: int) -> None:
        """Lines [a, b) all decoded: split them into runs of one signature and one launch identity."""
        structs = self.structs[a:b] if (a, b) != (0, len(self.structs)) else self.structs
        rows = list(map(AS_TUPLE, structs))  # one C call a line; fields are then read by position
        values, careful = columns(rows, lambda i: self.line_of(a + i))
        if careful:  # a fallback key only the careful path can judge: those lines go there, in order
            for i in careful:
                self.structs[a + i] = None
            self.split(a, b)
            return
        sigs = list(map(GET_SIG_ROW, rows))
        servers = list(map(GET_SERVER, structs))
        # one pass over equal neighbours is the common case: a whole block of one run
        cuts = set() if sigs.count(sigs[0]) == len(sigs) else set(
            compress(range(1, len(sigs)), map(ne, sigs[1:], sigs[:-1])))
        server_cuts = [] if servers.count(servers[0]) == len(servers) else list(
            compress(range(1, len(servers)), map(ne, servers[1:], servers[:-1])))
        identities = self.parser.identities
        ident = identities.get(servers[0], self.rewritten)
        idents = {0: ident}
        for i in server_cuts:
            new = identities.get(servers[i], self.rewritten)
            if new is not ident:
                cuts.add(i)
                ident = new
            idents[i] = ident
        starts = [0, *sorted(cuts), len(structs)]
        errors = list(map(GET_ERRORS, structs))
        ident = idents[0]
        for s, e in pairwise(starts):
            ident = idents.get(s, ident)
            self.run_of(a, s, e, sigs[s], ident, values, errors)

    def run_of(self, a: int, s: int, e: int, sig: tuple[Any, ...], ident: Any, values: np.ndarray,
               errors: list[Raw]) -> None:
        """Lines a+s .. a+e-1 share a signature and an identity: one `_track`, counts for the rest."""
        server = self.structs[a + s].server_info
        read = read_sig(sig, self.rewritten) if ident is not CAREFUL else None
        if read is None or not eligible(read, server):
            for i in range(a + s, a + e):
                self.careful(i)
            return
        parser = self.parser
        block = values[:, s:e]
        block[METRICS.index("num_prompts")] = num(None if read["num_prompts"] is ABSENT else read["num_prompts"])
        failed = block[METRICS.index("failed")]
        for i in range(s, e):
            if len(errors[i]):
                try:
                    failed[i - s] = failed_from_errors(errors[i], failed[i - s])
                except (ValueError, RecursionError):
                    for j in range(a + s, a + e):
                        self.careful(j)
                    return
        first = self.base + a + s + 1
        parser.fast_lines.append(np.arange(first, first + e - s, dtype=np.int64))
        parser.fast_values.append(block)
        parser.formats[sglang.NAME] = parser.formats.get(sglang.NAME, 0) + e - s
        basis = None if read["metric_basis"] is ABSENT else read["metric_basis"]
        parser.track_canonical(workload_of(read), basis, ident, first, e - s)
        parser.last_sig = object()
