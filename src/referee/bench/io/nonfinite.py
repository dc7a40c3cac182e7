"""orjson's reading of a raw line, exact or nothing: Python's json.dumps writes `Infinity` / `-Infinity` / `NaN`
(SGLang's default `request_rate` is inf), which orjson rejects. They are rewritten to marker strings, in one pass
over a whole block, and turned back into the floats the standard library gives; anything that cannot be put back
exactly returns None, and the caller takes the careful (standard library) path with the original bytes."""

from __future__ import annotations

import math
from typing import Any

from orjson import loads as orjson_loads

#: block-level rewrite of the non-finite literals, and its exact inverse.
MARK_TAG = b"referee-nonfinite"
MARKED = ((b'": -Infinity', b'": "\\u0000referee-nonfinite-"'), (b'": Infinity', b'": "\\u0000referee-nonfinite+"'),
          (b'": NaN', b'": "\\u0000referee-nonfinite?"'))
UNMARKED = {"\x00referee-nonfinite-": -math.inf, "\x00referee-nonfinite+": math.inf, "\x00referee-nonfinite?": math.nan}


def original_bytes(raw: bytes) -> bytes:
    for literal, marker in MARKED:
        raw = raw.replace(marker, literal)
    return raw


#: non-finite literals Python's json.dumps writes (SGLang's default `request_rate` is inf); orjson rejects them.
NONFINITE_VALUES = {b"Infinity": math.inf, b"-Infinity": -math.inf, b"NaN": math.nan}
MARK = "\x00referee-nonfinite"
MARK_JSON = b'"\\u0000referee-nonfinite"'
QUOTE, BACKSLASH = ord('"'), ord("\\")


def orjson_dict(raw: bytes) -> dict[str, Any] | None:
    try:
        obj = orjson_loads(raw)
    except ValueError:
        return None
    return obj if type(obj) is dict else None


def fast_load(raw: bytes) -> dict[str, Any] | None:
    """orjson's reading of a line when it is a JSON object (non-finite top-level values allowed), else None."""
    if b"Infinity" in raw or b"NaN" in raw:  # checked first: a failed orjson call costs more than the parse
        return nonfinite_load(raw)
    try:
        obj = orjson_loads(raw)
    except ValueError:
        return None
    return obj if type(obj) is dict else None


def _next_token(raw: bytes, pos: int) -> int:
    a, b = raw.find(b"Infinity", pos), raw.find(b"NaN", pos)
    return min(a, b) if a >= 0 and b >= 0 else max(a, b)


def nonfinite_load(raw: bytes) -> dict[str, Any] | None:
    """orjson for a line whose only non-JSON tokens are `"key": Infinity` / `-Infinity` / `NaN` values of
    top-level keys: each is swapped for a marker string, parsed, and put back as the float the standard
    library gives. The quote before the colon must be unescaped, so a match can never sit inside a string;
    any other occurrence (nested, in an array, in text) returns None and the line takes the careful path."""
    if b"referee-nonfinite" in raw:  # the marker must be ours alone
        return None
    parts, found, pos = [], [], 0
    at = _next_token(raw, 0)
    while at >= 0:
        start = at - 1 if at > 0 and raw[at - 1] == ord("-") else at
        token = raw[start:at + (3 if raw.startswith(b"NaN", at) else 8)]
        colon = start - 2
        if colon < 2 or raw[colon:start] != b": " or raw[colon - 1] != QUOTE or raw[colon - 2] == BACKSLASH:
            return None
        key_start = raw.rfind(b'"', 0, colon - 1)
        key = raw[key_start + 1:colon - 1]
        end = start + len(token)
        if key_start < 0 or BACKSLASH in key or (end < len(raw) and raw[end] not in b",} \t\r"):
            return None
        parts += [raw[pos:start], MARK_JSON]
        found.append((key.decode("utf-8", "replace"), NONFINITE_VALUES[token]))
        pos = end
        at = _next_token(raw, end)
    parts.append(raw[pos:])
    try:
        obj = orjson_loads(b"".join(parts))
    except ValueError:
        return None
    if type(obj) is not dict:
        return None
    for key, value in found:
        if obj.get(key) != MARK:
            return None
        obj[key] = value
    return obj
