"""Tensor plumbing used by the probe driver inside the sandboxed child.

Every torch function used here is looked up once, when `Toolkit` is built, before the submission is imported, and
every call runs with subclass `__torch_function__` disabled: replacing `Tensor.clone` later, or returning a tensor
subclass, does not change how the driver copies, hashes or encodes tensors. A `__torch_dispatch__` wrapper still
runs its own code when touched; the driver treats that as submission code (and the exact-type check flags it).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from referee.submissions.probes.codec import level1, level2

MAX_NODES = 64
#: added to the last element of floating inputs for the "tail" probe: large enough that the changed answer stands
#: out against the trusted tolerance, small enough for float16
TAIL_DELTA = 100.0
MAX_DEPTH = 4
#: adversarial inputs: outliers stand out of a subsample, the shifted range defeats a fixed scale; both stay far
#: inside float16's range for inputs drawn from a unit Gaussian
OUTLIER_SCALE = 16.0
RANGE_SCALE = 4.0


class Toolkit:
    """Pre-bound torch operations on plain tensors and nested containers of them."""

    def __init__(self) -> None:
        import torch

        self.torch = torch
        self.Tensor = torch.Tensor
        self.no_subclass = torch._C.DisableTorchFunctionSubclass
        self._clone = torch.Tensor.clone
        self._detach = torch.Tensor.detach
        self._contiguous = torch.Tensor.contiguous
        self._reshape = torch.Tensor.reshape
        self._to = torch.Tensor.to
        self._view = torch.Tensor.view
        self._numpy = torch.Tensor.numpy
        self._copy = torch.Tensor.copy_
        self._numel = torch.Tensor.numel
        self._storage = torch.Tensor.untyped_storage
        self._getitem = torch.Tensor.__getitem__
        self._cpu = torch.device("cpu")
        self._uint8 = torch.uint8
        self._uint16 = torch.uint16 if hasattr(torch, "uint16") else None
        self._bfloat16 = torch.bfloat16
        self._sha256 = hashlib.sha256
        self._b64 = base64.b64encode
        self._isinstance = isinstance
        self._type = type
        self._str = str
        self._tuple = tuple
        self._list = list
        self._dict = dict
        self._len = len

    # -- structure -------------------------------------------------------------------------------------------
    def is_tensor(self, obj: Any) -> bool:
        return self._isinstance(obj, self.Tensor)

    def leaves(self, obj: Any, depth: int = 0) -> list[Any]:
        if self.is_tensor(obj):
            return [obj]
        if depth >= MAX_DEPTH:
            return []
        if self._isinstance(obj, tuple | list):
            return [leaf for item in obj for leaf in self.leaves(item, depth + 1)]
        if self._isinstance(obj, dict):
            return [leaf for item in obj.values() for leaf in self.leaves(item, depth + 1)]
        return []

    def plain(self, t: Any) -> Any:
        """A detached contiguous CPU copy as a plain torch.Tensor (materialises lazy subclasses)."""
        with self.no_subclass():
            return self._contiguous(self._clone(self._to(self._detach(t), self._cpu)))

    def deep_clone(self, obj: Any) -> Any:
        if self.is_tensor(obj):
            with self.no_subclass():
                return self._clone(obj)
        if self._isinstance(obj, tuple):
            return self._tuple(self.deep_clone(item) for item in obj)
        if self._isinstance(obj, list):
            return [self.deep_clone(item) for item in obj]
        if self._isinstance(obj, dict):
            return {key: self.deep_clone(value) for key, value in obj.items()}
        return obj

    def refill(self, dst: Any, src: Any) -> None:
        """Copy src's tensor values into dst's tensors in place: same objects, same pointers, new values."""
        with self.no_subclass():
            for target, source in zip(self.leaves(dst), self.leaves(src), strict=False):
                self._copy(target, source)

    def tweak_tail(self, obj: Any) -> None:
        """Change only the last element of every tensor (catches caches keyed on a prefix of the content)."""
        with self.no_subclass():
            for t in self.leaves(obj):
                if self._numel(t):
                    index = self._tuple(-1 for _ in t.shape)
                    last = self._getitem(t, index)
                    if t.dtype == self.torch.bool:
                        t[index] = ~last
                    elif t.dtype.is_floating_point or t.dtype.is_complex:
                        t[index] = last + TAIL_DELTA
                    else:
                        t[index] = last + 1

    # -- fingerprints ----------------------------------------------------------------------------------------
    def _bytes(self, t: Any) -> bytes:
        with self.no_subclass():
            flat = self._reshape(self.plain(t), (-1,))
            return self._numpy(self._view(flat, self._uint8)).tobytes() if self._numel(flat) else b""

    def digest(self, obj: Any) -> str:
        """sha256 over dtypes, shapes and bytes of every tensor leaf, plus the reprs of scalars.

        A tensor the submission broke (freed storage, a hostile container) yields an `unreadable:` digest instead
        of an exception, so it reads as a changed input rather than as a crash of the driver.
        """
        h = self._sha256()
        try:
            leaves = self.leaves(obj)
            for leaf in leaves:
                h.update(self._str((leaf.dtype, self._tuple(leaf.shape))).encode())
                h.update(self._bytes(leaf))
            if not leaves:
                h.update(self._str(obj)[:1000].encode())
        except Exception as exc:
            return f"unreadable:{self._type(exc).__name__}"
        return h.hexdigest()[:32]

    def leaf_digests(self, obj: Any) -> list[str]:
        """One digest per tensor leaf, in `leaves` order: which member of `data` changed, not only that one did."""
        try:
            return [self.digest(leaf) for leaf in self.leaves(obj)]
        except Exception as exc:
            return [f"unreadable:{self._type(exc).__name__}"]

    def alias_leaves(self, out: Any, obj: Any) -> list[int]:
        """Indices of the leaves of `obj` whose storage the output shares."""
        out_ptrs = self.storage_ptrs(out)
        if not out_ptrs:
            return []
        return [i for i, leaf in enumerate(self.leaves(obj)) if self.storage_ptrs(leaf) & out_ptrs]

    def adversarial(self, obj: Any, kind: str, skip: set[int], seed: int) -> int:
        """Reshape the values of the input leaves (not `skip`: outputs and state) so approximations show.

        `outliers`: a few entries per tensor scaled up 16x (a subsampled KV cache or a fixed quantisation scale
        misses them); `range`: every entry moved to a shifted, non-Gaussian range |x| * 4 + 1. Shapes, dtypes and
        devices stay; integer and boolean tensors (indices, masks) are left alone. Returns the leaves changed.
        """
        torch = self.torch
        gen = torch.Generator().manual_seed(seed)
        changed = 0
        with self.no_subclass(), torch.no_grad():
            for i, t in enumerate(self.leaves(obj)):
                if i in skip or not t.dtype.is_floating_point or not self._numel(t) or t.dtype.itemsize < 2:
                    continue
                flat = self._reshape(t, (-1,))
                if kind == "outliers":
                    if not t.is_contiguous():
                        continue
                    count = max(1, min(64, self._numel(t) // 1000))
                    index = torch.randint(0, self._numel(t), (count,), generator=gen).to(t.device)
                    flat[index] = flat[index] * OUTLIER_SCALE
                else:
                    self._copy(t, t.abs() * RANGE_SCALE + 1)
                changed += 1
        return changed

    def storage_ptrs(self, obj: Any) -> set[int]:
        ptrs = set()
        with self.no_subclass():
            for leaf in self.leaves(obj):
                try:
                    storage = self._storage(leaf)
                    if storage.nbytes():
                        ptrs.add(int(storage.data_ptr()))
                except Exception:
                    continue
        return ptrs

    # -- encoding --------------------------------------------------------------------------------------------
    def encode(self, obj: Any, r: int, level: int = 1, budget: list[int] | None = None, depth: int = 0) -> dict:
        """JSON tree of an output; tensors as sampled raw bytes (see codec.level1/level2)."""
        budget = budget if budget is not None else [MAX_NODES]
        budget[0] -= 1
        cls = f"{self._type(obj).__module__}.{self._type(obj).__qualname__}"
        if budget[0] < 0:
            return {"t": "other", "cls": cls, "why": "too many nodes"}
        if self.is_tensor(obj):
            return self._encode_tensor(obj, r, level, cls)
        if depth < MAX_DEPTH and self._isinstance(obj, tuple | list):
            kind = "tuple" if self._isinstance(obj, tuple) else "list"
            return {"t": kind, "cls": cls, "items": [self.encode(x, r, level, budget, depth + 1) for x in obj]}
        if depth < MAX_DEPTH and self._isinstance(obj, dict):
            return {"t": "dict", "cls": cls,
                    "items": {self._str(k): self.encode(v, r, level, budget, depth + 1) for k, v in obj.items()}}
        if obj is None or self._type(obj) in (bool, int, float, str):
            value = obj if not self._isinstance(obj, str) else obj[:200]
            return {"t": "scalar", "cls": cls, "v": value}
        return {"t": "other", "cls": cls}

    def _encode_tensor(self, t: Any, r: int, level: int, cls: str) -> dict:
        node: dict[str, Any] = {"t": "tensor", "cls": cls, "r": r}
        try:
            with self.no_subclass():
                node["dtype"] = self._str(t.dtype).replace("torch.", "")
                node["shape"] = [int(s) for s in t.shape]
                flat = self._reshape(self.plain(t), (-1,))
                o1, s1, k1 = level1(int(self._numel(flat)), r)
                sample = self._getitem(flat, slice(o1, None, s1))[:k1]
                if level == 2:
                    o2, s2, k2 = level2(int(self._numel(sample)), r)
                    sample = self._getitem(sample, slice(o2, None, s2))[:k2]
                sample = self._contiguous(sample)
                if t.dtype == self._bfloat16:
                    raw = self._numpy(self._view(sample, self._uint8)).tobytes()
                elif node["dtype"].startswith("float8"):
                    node["undecodable"] = True
                    raw = b""
                else:
                    raw = self._numpy(sample).tobytes()
                node["count"] = int(self._numel(sample))
                node["data"] = self._b64(raw).decode("ascii")
        except Exception as exc:
            node["error"] = f"{self._type(exc).__name__}: {exc}"[:300]
        return node
