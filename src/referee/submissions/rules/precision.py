"""Precision downgrade: computing in a cheaper type than the task's and casting back, or summing a sample.

Some tasks allow low-precision internals (the eigh task says so), so these are FLAGs: evidence to weigh against
the task's rules and the measured error, not proof (KernelGuard PRECISION_DOWNGRADE is telemetry too).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.rules._util import calls, code
from referee.submissions.rules.registry import Hit, rule

LOW_DTYPES = frozenset({"torch.float16", "torch.half", "torch.bfloat16", "torch.float8_e4m3fn", "torch.float8_e5m2",
                        "torch.float8_e4m3fnuz", "torch.float8_e5m2fnuz", "torch.int8", "torch.uint8",
                        "torch.float4_e2m1fn_x2", "torch.HalfTensor", "torch.cuda.HalfTensor",
                        "torch.BFloat16Tensor", "numpy.float16"})
HIGH_DTYPES = frozenset({"torch.float32", "torch.float", "torch.float64", "torch.double", "torch.FloatTensor",
                         "torch.cuda.FloatTensor", "torch.DoubleTensor", "numpy.float32", "numpy.float64"})
DOWN_METHODS = frozenset({"half", "bfloat16"})
UP_METHODS = frozenset({"float", "double"})
CAST_METHODS = UP_METHODS | {"type_as", "to", "type"}
REDUCTIONS = frozenset({"sum", "mean", "norm", "prod", "cumsum", "dot", "matmul", "mm", "bmm", "einsum"})


def _dtype_of(sub: Submission, call: ast.Call) -> set[str]:
    args = [*call.args, *(k.value for k in call.keywords if k.arg in ("dtype", "device_type", None))]
    out: set[str] = set()
    for arg in args:
        out |= set(sub.resolver.qualnames(arg))
        if isinstance(arg, ast.Attribute) and arg.attr == "dtype":
            out.add("<input dtype>")
    return out


def _is_down(sub: Submission, node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    method = node.func.attr
    return method in DOWN_METHODS or (method in ("to", "type") and bool(_dtype_of(sub, node) & LOW_DTYPES))


def _is_up(sub: Submission, node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    method = node.func.attr
    if method in UP_METHODS or method == "type_as":
        return True
    dtypes = _dtype_of(sub, node) if method in ("to", "type") else set()
    return bool(dtypes & (HIGH_DTYPES | {"<input dtype>"}))


def _contains_down(sub: Submission, expr: ast.AST, function: ast.AST, depth: int = 0) -> ast.AST | None:
    for node in ast.walk(expr):
        if _is_down(sub, node):
            return node
        if isinstance(node, ast.Name) and depth < 3:
            for value in sub.flow.local_values(node.id, function):
                found = _contains_down(sub, value, function, depth + 1)
                if found is not None:
                    return found
    return None


@rule("PRC001", "Computes in lower precision and casts back", "precision", Verdict.FLAG,
      what="Checks for a value cast down (`.half()`, `.bfloat16()`, `.to(torch.float16 | bfloat16 | float8_*)`) "
           "and then cast back up (`.float()`, `.double()`, `.to(x.dtype)`, `.type_as(x)`), and for `autocast` to "
           "a 16-bit type inside the submission.",
      why="Computing in fp16/bf16/fp8 and casting back is faster and often still inside loose tolerances, but it "
          "is a different (less accurate) computation than the task asks for unless the task allows it "
          "(reference-kernels `matmul_py/solutions/wrong/low-precision.py`).",
      action="Check the task's precision rules; measure the error against an FP64 reference on adversarial inputs.",
      example="""
          def custom_kernel(data):
              a, b = data
              return (a.half() @ b.half()).float()
      """,
      use_instead="""
          def custom_kernel(data):
              a, b = data
              return (a.float() @ b.float()).to(a.dtype)
      """,
      known_problems="Flags fp16 tasks where `.half()` is a no-op; the FLAG is a prompt to check the task's dtype.",
      kernelguard=["PRECISION_DOWNGRADE"])
def downcast_upcast(sub: Submission) -> Iterator[Hit]:
    for node in sub.nodes(ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr in CAST_METHODS and _is_up(sub, node):
            function = sub.function_of(node)
            down = _contains_down(sub, node.func.value, function) if function is not None else None
            if down is not None:
                yield Hit(node, f"Casts down with `{code(down)}` and back up with `.{node.func.attr}(...)`.")
    for call, name in calls(sub, ("torch.autocast", "torch.cuda.amp.autocast", "torch.amp.autocast",
                                  "torch.cpu.amp.autocast")):
        if _dtype_of(sub, call) & LOW_DTYPES or not any(k.arg == "dtype" for k in call.keywords):
            yield Hit(call, f"Runs under `{name}`, which computes matmuls and convolutions in 16-bit types.")


@rule("PRC002", "Partial computation rescaled", "precision", Verdict.FLAG,
      what="Checks for a reduction over a strided or shortened slice (`x[::k].sum()`, `x[: n // k].sum()`) that is "
           "then multiplied or divided to stand in for the full result.",
      why="Summing a sample and scaling it up approximates the answer at a fraction of the cost; with loose "
          "tolerances and smooth random inputs it passes (reference-kernels `vectorsum_py/solutions/wrong/cheat.py`).",
      action="Review by hand; re-check with inputs whose tail differs from their head.",
      example="""
          def custom_kernel(data):
              n = data.numel()
              return data[: n // 8].sum() * 8
      """,
      use_instead="""
          def custom_kernel(data):
              n = data.numel()
              return data[:n].sum() / n
      """)
def sampled_reduction(sub: Submission) -> Iterator[Hit]:
    for binop in sub.nodes(ast.BinOp):
        if not isinstance(binop.op, (ast.Mult, ast.Div)):
            continue
        for side in (binop.left, binop.right):
            slice_node = _reduced_slice(side)
            if slice_node is not None and _sampled(slice_node):
                yield Hit(binop, f"Reduces only the slice `{code(slice_node)}` and rescales the result.")
                break


def _reduced_slice(expr: ast.AST) -> ast.Subscript | None:
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr in REDUCTIONS and isinstance(func.value, ast.Subscript):
            return func.value
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in REDUCTIONS and expr.args and isinstance(expr.args[0], ast.Subscript):
            return expr.args[0]
    return None


def _sampled(subscript: ast.Subscript) -> bool:
    slices = subscript.slice.elts if isinstance(subscript.slice, ast.Tuple) else [subscript.slice]
    for item in slices:
        if not isinstance(item, ast.Slice):
            continue
        step = item.step
        if step is not None and not (isinstance(step, ast.Constant) and step.value == 1):
            return True
        for bound in (item.lower, item.upper):
            if isinstance(bound, ast.BinOp) and isinstance(bound.op, (ast.FloorDiv, ast.Div, ast.RShift)):
                return True
    return False
