"""Launch identity of SGLang `server_info` payloads for the columnar path, without re-reading each one.

A real `/server_info` carries runtime state (`internal_states`) that differs on every line, so its raw bytes
differ on every line while the launch does not. The identity is the canonical config (`config.canonicalize`,
which drops runtime keys); it is computed once per distinct config and found again by exact byte arguments.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from msgspec import Raw, Struct

from referee.bench.config import RUNTIME, canonicalize

EMPTY = Raw(b"")
CAREFUL = object()  # an identity that sends its line to the careful path
REWRITTEN_B = b"1e999999"  # what the columnar path writes for `Infinity`
DECODE_ERRORS = (msgspec.DecodeError, RecursionError)
RUNTIME_KEYS = tuple(sorted(RUNTIME))
RUNTIME_LITERALS = {name: f'"{name}"'.encode() for name in RUNTIME_KEYS}


class RuntimeProbe(Struct, gc=False):
    """The runtime keys of a `server_info` (`internal_states` differs on every call), as raw bytes."""

    internal_states: Raw = EMPTY
    status: Raw = EMPTY
    last_gen_throughput: Raw = EMPTY
    memory_usage: Raw = EMPTY
    load: Raw = EMPTY
    uptime: Raw = EMPTY


DECODE_PROBE = msgspec.json.Decoder(RuntimeProbe).decode
DECODE_ANY = msgspec.json.Decoder().decode
assert set(RuntimeProbe.__struct_fields__) == RUNTIME


class Identities:
    """Launch identity (canonical config) per `server_info`, computed once per distinct config. The cache key is
    the raw bytes with the values of top-level runtime keys cut out, so a payload whose `internal_states`
    differs on every line still costs one canonicalisation. Cheaper still, line to line: a payload that is the
    last one with only its largest runtime value replaced (same bytes before and after it, and what sits between
    is one whole JSON value) is the same launch, with no copy, scan or hash of the rest."""

    def __init__(self) -> None:
        self.cache: dict[bytes, Any] = {}
        self.last: tuple[bytes, bytes, Any] | None = None  # prefix, suffix around the last runtime value, identity

    def get(self, raw: Raw, rewritten: bool) -> Any:
        data = bytes(raw)
        if data[:1] != b"{":
            return None  # null, or not an object: `extract` gives no server config
        if rewritten and REWRITTEN_B in data:
            return CAREFUL
        if self.last is not None:
            prefix, suffix, identity = self.last
            if (len(data) > len(prefix) + len(suffix) and data.startswith(prefix) and data.endswith(suffix)
                    and _one_value(data[len(prefix):len(data) - len(suffix)])):
                return identity
        spans = runtime_spans(data)
        key = _cut(data, spans) if spans else data
        found = self.cache.get(key, CAREFUL)
        if found is CAREFUL:
            try:
                found = canonicalize(json.loads(data))
            except (ValueError, RecursionError):
                return CAREFUL
            if len(self.cache) < 256:
                self.cache[key] = found
        if spans:
            start, end = max(spans, key=lambda span: span[1] - span[0])
            self.last = (data[:start], data[end:], found)
        return found


def _one_value(text: bytes) -> bool:
    try:
        DECODE_ANY(text)
    except DECODE_ERRORS:
        return False
    return True


def runtime_cut(data: bytes) -> bytes:
    """`data` without the values of its top-level runtime keys (all of `data` where they cannot be told)."""
    spans = runtime_spans(data)
    return _cut(data, spans) if spans else data


def _cut(data: bytes, spans: list[tuple[int, int]]) -> bytes:
    pieces, pos = [], 0
    for start, end in spans:
        pieces.append(data[pos:start])
        pos = end
    pieces.append(data[pos:])
    return b"".join(pieces)


def runtime_spans(data: bytes) -> list[tuple[int, int]] | None:
    """Byte spans of the values of `data`'s top-level runtime keys, in order; None when that cannot be told
    exactly. With no `\\u` escape in the text a key is spelled literally, and a single literal occurrence of
    `"internal_states"` is then the top-level key itself."""
    if b"\\u" in data:
        return None
    try:
        probe = DECODE_PROBE(data)
    except DECODE_ERRORS:
        return None
    spans = []
    for name in RUNTIME_KEYS:
        value = getattr(probe, name)
        if not len(value):
            continue
        key = RUNTIME_LITERALS[name]
        at = data.find(key)
        if at < 0 or data.find(key, at + len(key)) >= 0:  # exactly one literal occurrence
            return None
        at += len(key)
        while data[at:at + 1] in (b" ", b"\t", b"\n", b"\r", b":"):
            at += 1
        if memoryview(data)[at:at + len(value)] != memoryview(value):
            return None
        spans.append((at, at + len(value)))
    return sorted(spans) or None
