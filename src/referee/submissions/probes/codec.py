"""How outputs travel from the sandboxed child to the trusted handler, and how the handler compares them.

The child encodes every output as a JSON tree (tensors as raw little-endian bytes, base64). Large tensors are sampled
at strided positions whose offset comes from a per-case random number drawn before the submission was imported, so
the sample positions cannot be read from the source. The handler decodes with numpy only (no torch in the trusted
comparison) and decides right or wrong itself: the task's checker runs in the child and is consulted too, but a
submission that patched the checker cannot make the handler call a wrong output right.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: tensors up to this many elements travel whole; larger ones as a strided sample of this many elements
FULL_LIMIT = 1 << 16
#: the small sample used by the soak calls (many calls, little data each)
SMALL_SAMPLE = 512

_NUMPY_DTYPES = {
    "float64": "<f8", "float32": "<f4", "float16": "<f2", "int64": "<i8", "int32": "<i4", "int16": "<i2",
    "int8": "i1", "uint8": "u1", "bool": "?", "complex64": "<c8", "complex128": "<c16",
    "uint16": "<u2", "uint32": "<u4", "uint64": "<u8",
}
_FLOAT_DTYPES = {"float64", "float32", "float16", "bfloat16", "complex64", "complex128"}


def level1(numel: int, r: int) -> tuple[int, int, int]:
    """(offset, stride, count) of the level-1 sample of a flat tensor of `numel` elements."""
    if numel <= FULL_LIMIT:
        return 0, 1, numel
    stride = numel // FULL_LIMIT
    return r % stride, stride, FULL_LIMIT


def level2(count1: int, r: int) -> tuple[int, int, int]:
    """(offset, stride, count) of the small sample, taken from the level-1 sample."""
    if count1 <= SMALL_SAMPLE:
        return 0, 1, count1
    stride = count1 // SMALL_SAMPLE
    return (r // 7) % stride, stride, SMALL_SAMPLE


class DecodeError(ValueError):
    """A frame's tensor payload is malformed (only forged frames are)."""


def _decode_tensor(node: dict[str, Any]) -> np.ndarray:
    dtype = node.get("dtype")
    raw = base64.b64decode(node.get("data", ""), validate=True)
    if dtype == "bfloat16":
        halves = np.frombuffer(raw, dtype="<u2")
        return (halves.astype(np.uint32) << 16).view(np.float32)
    if dtype not in _NUMPY_DTYPES:
        raise DecodeError(f"unsupported dtype {dtype!r}")
    array = np.frombuffer(raw, dtype=_NUMPY_DTYPES[dtype])
    if array.size != node.get("count"):
        raise DecodeError("element count does not match the payload")
    return array


@dataclass
class Comparison:
    """Whether an output matches the reference, and by how much it is off."""

    ok: bool
    reason: str = ""
    rel_error: float | None = None
    max_abs: float | None = None
    float_dtype: str | None = None


def _structure(node: Any) -> str:
    return node.get("t", "?") if isinstance(node, dict) else "?"


def compare(ref: dict[str, Any], out: dict[str, Any], max_rel_error: float, values: bool = True,
            level: int = 1) -> Comparison:
    """Compare an encoded output with the encoded reference (same case). `values=False`: structure only."""
    try:
        return _compare(ref, out, max_rel_error, values, level, "output")
    except (DecodeError, ValueError, TypeError, KeyError) as exc:
        return Comparison(False, f"unreadable output payload: {exc}")


def _compare(ref: dict[str, Any], out: dict[str, Any], tol: float, values: bool, level: int,
             where: str) -> Comparison:
    kind, okind = _structure(ref), _structure(out)
    seq = {"tuple", "list"}
    if kind != okind and not (kind in seq and okind in seq):
        return Comparison(False, f"{where} is {out.get('cls', okind)}, expected {ref.get('cls', kind)}")
    if kind in seq:
        items, oitems = ref["items"], out["items"]
        if len(items) != len(oitems):
            return Comparison(False, f"{where} has {len(oitems)} items, expected {len(items)}")
        return _merge([_compare(r, o, tol, values, level, f"{where}[{i}]")
                       for i, (r, o) in enumerate(zip(items, oitems, strict=True))])
    if kind == "dict":
        if sorted(ref["items"]) != sorted(out["items"]):
            return Comparison(False, f"{where} keys {sorted(out['items'])}, expected {sorted(ref['items'])}")
        return _merge([_compare(ref["items"][k], out["items"][k], tol, values, level, f"{where}[{k!r}]")
                       for k in sorted(ref["items"])])
    if kind == "scalar":
        if not values:
            return Comparison(True)
        a, b = ref.get("v"), out.get("v")
        if isinstance(a, float) and isinstance(b, int | float):
            ok = math.isclose(a, b, rel_tol=tol, abs_tol=tol)
        else:
            ok = a == b
        return Comparison(ok, "" if ok else f"{where} is {b!r}, expected {a!r}")
    if kind != "tensor":
        return Comparison(False, f"{where}: cannot compare {kind}")
    return _compare_tensor(ref, out, tol, values, level, where)


def _compare_tensor(ref: dict[str, Any], out: dict[str, Any], tol: float, values: bool, level: int,
                    where: str) -> Comparison:
    if out.get("error"):
        return Comparison(False, f"{where} could not be read: {out['error']}")
    if list(out.get("shape", [])) != list(ref["shape"]):
        return Comparison(False, f"{where} shape {tuple(out.get('shape', []))}, expected {tuple(ref['shape'])}")
    if out.get("dtype") != ref["dtype"] and not (out.get("dtype") in _FLOAT_DTYPES and ref["dtype"] in _FLOAT_DTYPES):
        return Comparison(False, f"{where} dtype {out.get('dtype')}, expected {ref['dtype']}")
    # another floating dtype (float32 prefix sums for a float64 reference): the values decide, and the task's
    # checker, which the handler also requires, decides whether the dtype itself is acceptable
    if not values or ref.get("undecodable"):
        return Comparison(True)
    expected = _decode_tensor(ref)
    if level == 2:
        o2, s2, k2 = level2(expected.size, int(ref.get("r", 0)))
        expected = expected[o2::s2][:k2]
    got = _decode_tensor(out)
    if got.size != expected.size:
        return Comparison(False, f"{where}: sample size {got.size}, expected {expected.size}")
    if ref["dtype"] not in _FLOAT_DTYPES:
        bad = int(np.count_nonzero(got != expected))
        return Comparison(bad == 0, f"{where}: {bad} of {got.size} checked elements differ" if bad else "")
    exp64 = expected.astype(np.complex128 if np.iscomplexobj(expected) else np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # garbage in an output (stale memory) is judged below
        got64 = got.astype(exp64.dtype)
    finite = np.isfinite(exp64)
    broken = int(np.count_nonzero(~np.isfinite(got64) & finite))
    diff = np.abs(got64[finite] - exp64[finite])
    max_abs = float(diff.max()) if diff.size else 0.0
    scale = float(np.linalg.norm(exp64[finite])) if diff.size else 0.0
    peak = float(np.abs(exp64[finite]).max()) if diff.size else 0.0
    err = float(np.linalg.norm(diff)) / scale if scale > 0 else max_abs
    worst = max_abs / peak if peak > 0 else max_abs
    if broken:
        return Comparison(False, f"{where}: {broken} NaN/Inf values where the reference is finite", None, None,
                          ref["dtype"])
    if err > tol:
        return Comparison(False, f"{where}: relative error {err:.3g} (limit {tol:g}), max abs error {max_abs:.3g}",
                          err, max_abs, ref["dtype"])
    if worst > tol:  # one element far off (a stale answer that differs from the right one in a single place)
        return Comparison(False, f"{where}: max abs error {max_abs:.3g} is {worst:.3g} of the largest reference "
                          f"value (limit {tol:g})", err, max_abs, ref["dtype"])
    return Comparison(True, "", err, max_abs, ref["dtype"])


def _merge(parts: list[Comparison]) -> Comparison:
    bad = [p for p in parts if not p.ok]
    errors = [p.rel_error for p in parts if p.rel_error is not None]
    dtypes = [p.float_dtype for p in parts if p.float_dtype]
    return Comparison(not bad, "; ".join(p.reason for p in bad[:3]), max(errors) if errors else None,
                      max((p.max_abs for p in parts if p.max_abs is not None), default=None),
                      dtypes[0] if dtypes else None)


def tensor_classes(node: Any) -> list[str]:
    """Class names of every tensor-like leaf of an encoded output (exactness check)."""
    if not isinstance(node, dict):
        return []
    if node.get("t") == "tensor":
        return [str(node.get("cls"))]
    items = node.get("items")
    if isinstance(items, list):
        return [c for item in items for c in tensor_classes(item)]
    if isinstance(items, dict):
        return [c for item in items.values() for c in tensor_classes(item)]
    return []


def same_signature(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same structure, shapes and dtypes (so outputs of two cases can be compared value by value)."""
    if _structure(a) != _structure(b):
        return False
    if a.get("t") == "tensor":
        return a.get("shape") == b.get("shape") and a.get("dtype") == b.get("dtype")
    items_a, items_b = a.get("items"), b.get("items")
    if isinstance(items_a, list) and isinstance(items_b, list):
        return len(items_a) == len(items_b) and all(same_signature(x, y) for x, y in zip(items_a, items_b,
                                                                                         strict=True))
    if isinstance(items_a, dict) and isinstance(items_b, dict):
        return sorted(items_a) == sorted(items_b) and all(same_signature(items_a[k], items_b[k]) for k in items_a)
    return a == b
