"""Lazy outputs: a placeholder is returned and the real work happens when the checker touches it.

The checker runs outside the timed region, so a `torch.Tensor` subclass (or an object with
`__torch_function__`) that computes on first use moves the cost out of the measurement (reference-kernels
issue #162 / PR #161; KernelGuard LAZY_TENSOR, TENSOR_INSTANCE_METHOD_OVERRIDE).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.rules._util import code
from referee.submissions.rules.registry import Hit, rule

HOOKS = frozenset({"__torch_function__", "__torch_dispatch__"})
MODE_BASES = frozenset({"torch.overrides.TorchFunctionMode", "torch.utils._python_dispatch.TorchDispatchMode"})
TENSOR_METHODS = frozenset({
    "double", "float", "half", "cpu", "cuda", "to", "clone", "numpy", "tolist", "item", "contiguous", "detach",
    "__eq__", "__ne__", "__sub__", "__add__", "__abs__", "__array__", "__getitem__", "__len__", "__bool__",
    "__float__", "__torch_function__", "__torch_dispatch__", "abs", "sub", "allclose", "isclose", "equal", "eq",
    "ne", "isnan", "isfinite", "sum", "max", "min", "mean", "norm", "view", "reshape", "data_ptr", "__repr__",
    "__format__", "type", "__class__", "__getattr__", "__getattribute__",
})


@rule("LAZ001", "Tensor subclass or torch-function hook defined", "lazy-output", Verdict.FLAG,
      what="Checks for classes deriving from `torch.Tensor`, classes defining `__torch_function__` or "
           "`__torch_dispatch__`, and `TorchFunctionMode`/`TorchDispatchMode` subclasses.",
      why="These are the tools for outputs that compute only when inspected, or for intercepting the torch "
          "calls the checker makes.",
      action="Review by hand; FAIL if an instance is returned (LAZ002).",
      example="""
          import torch
          class Deferred(torch.Tensor):
              pass
          def custom_kernel(data):
              return data.cumsum(0)
      """,
      use_instead="""
          import torch
          class Config:
              block = 128
          def custom_kernel(data):
              return data.cumsum(0)
      """,
      kernelguard=["LAZY_TENSOR"])
def subclass_defined(sub: Submission) -> Iterator[Hit]:
    flow = sub.flow
    for cls in sub.nodes(ast.ClassDef):
        if cls.name in flow.tensor_subclasses:
            yield Hit(cls, f"Class `{cls.name}` derives from `torch.Tensor`.")
        elif cls.name in flow.lazy_classes:
            yield Hit(cls, f"Class `{cls.name}` defines a torch dispatch hook.")
        elif any(sub.resolver.qualnames(b) & MODE_BASES for b in cls.bases):
            yield Hit(cls, f"Class `{cls.name}` is a torch function/dispatch mode.")


@rule("LAZ002", "Returns a tensor subclass or lazy proxy", "lazy-output", Verdict.FAIL,
      what="Checks for an entry point whose returned value is made by `Tensor._make_subclass`, "
           "`_make_wrapper_subclass`, `.as_subclass(...)`, or by constructing a class of the submission that "
           "derives from `torch.Tensor` or defines `__torch_function__`/`__torch_dispatch__`.",
      why="The harness expects a plain tensor; a subclass can defer the computation into the untimed checker "
          "or answer the checker's comparisons itself (reference-kernels #161).",
      action="Disqualify the run (FAIL); require `type(out) is torch.Tensor`.",
      example="""
          import torch
          class Lazy(torch.Tensor):
              @classmethod
              def __torch_function__(cls, func, types, args=(), kwargs=None):
                  return func(*args, **(kwargs or {}))
          def custom_kernel(data):
              return torch.Tensor._make_subclass(Lazy, torch.empty_like(data))
      """,
      use_instead="""
          import torch
          def custom_kernel(data):
              out = torch.empty_like(data)
              torch.cumsum(data, 0, out=out)
              return out
      """,
      kernelguard=["LAZY_TENSOR"])
def subclass_returned(sub: Submission) -> Iterator[Hit]:
    for entry in sub.flow.entries:
        for ret, origins in sub.flow.return_origins(entry.function):
            for origin in origins:
                if origin.kind == "subclass":
                    yield Hit(ret, f"`{getattr(entry.function, 'name', '?')}` returns `{code(origin.node)}`, not a "
                                   "plain tensor.")
                    break


@rule("LAZ003", "Overrides methods on a tensor instance", "lazy-output", Verdict.FAIL,
      what="Checks for assignments of tensor methods on tensor objects (`out.double = ...`, `out.__class__ = "
           "...`, `object.__setattr__(out, 'cpu', f)`), on values derived from the inputs or created with torch.",
      why="Replacing `double`, `cpu`, `__eq__` or `__class__` on the returned tensor lets it answer the checker's "
          "conversions and comparisons with whatever it wants (KernelGuard TENSOR_INSTANCE_METHOD_OVERRIDE).",
      action="Disqualify the run (FAIL).",
      example="""
          import torch
          def custom_kernel(data):
              out = torch.empty_like(data)
              out.double = lambda: data.double().cumsum(0)
              return out
      """,
      use_instead="""
          import torch
          from types import SimpleNamespace
          cfg = SimpleNamespace()
          cfg.float = True
          def custom_kernel(data):
              return data.cumsum(0)
      """,
      kernelguard=["TENSOR_INSTANCE_METHOD_OVERRIDE"])
def instance_override(sub: Submission) -> Iterator[Hit]:
    flow = sub.flow
    entries = {e.function for e in flow.entries if e.resolved}
    for write in sub.writes:
        receiver = write.receiver
        if write.attr not in TENSOR_METHODS or receiver is None:
            continue
        function = sub.function_of(write.node)
        if isinstance(receiver, ast.Name) and function is not None and receiver.id in ("self", "cls"):
            continue
        names = sub.resolver.qualnames(receiver)
        tensorish = any(n.startswith("torch.") and n.endswith("()") for n in names)
        if function is not None and function in entries and flow.is_tainted(receiver, function):
            tensorish = True
        if function is not None and any(o.kind in ("alloc", "input", "subclass", "rng")
                                        for o in flow.origins(receiver, function)):
            tensorish = True
        if tensorish:
            yield Hit(write.node, f"Replaces `{write.attr}` on the tensor `{code(receiver)}`.")
        elif write.attr == "__class__" and not any("()" not in n for n in names):
            yield Hit(write.node, f"Replaces the class of `{code(receiver)}` at run time.")
