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
    if isinstance(node.func.value, (ast.Compare, ast.BoolOp)) or (
            isinstance(node.func.value, ast.UnaryOp) and isinstance(node.func.value.op, ast.Not)):
        return False  # `(x < 0).to(torch.uint8)`: a mask has no precision to lose
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
    """A downcast inside `expr` or in what its local names were assigned (three assignments deep, memoised)."""
    memo = sub.__dict__.setdefault("_prc_down", {})
    key = (expr, function, depth)
    if key in memo:
        return memo[key]
    memo[key] = None
    found = None
    for node in ast.walk(expr):
        if _is_down(sub, node):
            found = node
            break
        if isinstance(node, ast.Name) and depth < 3:
            for value in sub.flow.local_values(node.id, function):
                found = _contains_down(sub, value, function, depth + 1)
                if found is not None:
                    break
            if found is not None:
                break
    memo[key] = found
    return found


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
      known_problems="Flags fp16 tasks where `.half()` is a no-op; the FLAG is a prompt to check the task's dtype. "
                     "With the task, a cast to a type whose rounding the checker's `rtol` covers (at least "
                     "2.5 times its unit roundoff: bf16 needs rtol >= 1e-2) is not reported.",
      kernelguard=["PRECISION_DOWNGRADE"])
def downcast_upcast(sub: Submission) -> Iterator[Hit]:
    for node in sub.nodes(ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr in CAST_METHODS and _is_up(sub, node):
            function = sub.function_of(node)
            down = _contains_down(sub, node.func.value, function) if function is not None else None
            if down is not None and not _task_accepts(sub, _low_dtype(sub, down)):
                yield Hit(node, f"Casts down with `{code(down)}` and back up with `.{node.func.attr}(...)`.")
    for call, name in calls(sub, ("torch.autocast", "torch.cuda.amp.autocast", "torch.amp.autocast",
                                  "torch.cpu.amp.autocast")):
        low = _dtype_of(sub, call) & LOW_DTYPES
        if (low or not any(k.arg == "dtype" for k in call.keywords)) and not _task_accepts(
                sub, min(low) if low else "torch.float16"):
            yield Hit(call, f"Runs under `{name}`, which computes matmuls and convolutions in 16-bit types.")


# Unit roundoff of each reduced type; a task whose checker's rtol is ACCEPT_MARGIN times that accepts the type
# (trimul checks at rtol=2e-2 and its official solution runs its einsum in bf16).
UNIT_ROUNDOFF = {"torch.float16": 2.0 ** -11, "torch.half": 2.0 ** -11, "torch.bfloat16": 2.0 ** -8,
                 "torch.float8_e4m3fn": 2.0 ** -4, "torch.float8_e4m3fnuz": 2.0 ** -4, "torch.float8_e5m2": 2.0 ** -3,
                 "torch.float8_e5m2fnuz": 2.0 ** -3}
ACCEPT_MARGIN = 2.5


def _low_dtype(sub: Submission, down: ast.AST) -> str | None:
    method = down.func.attr if isinstance(down, ast.Call) and isinstance(down.func, ast.Attribute) else None
    if method in ("half", "bfloat16"):
        return "torch.float16" if method == "half" else "torch.bfloat16"
    low = _dtype_of(sub, down) & LOW_DTYPES if isinstance(down, ast.Call) else set()
    return min(low) if len(low) == 1 else None


def _task_accepts(sub: Submission, dtype: str | None) -> bool:
    """With the task, whether its checker's tolerance is loose enough for `dtype`'s rounding: the task then
    allows computing in it, and a down-and-up cast is within its rules. Without the task, never."""
    contract = sub.contract
    if contract is None or contract.rtol is None or dtype not in UNIT_ROUNDOFF:
        return False
    return contract.rtol >= ACCEPT_MARGIN * UNIT_ROUNDOFF[dtype]


@rule("PRC002", "Computes on a fraction of the input", "precision", Verdict.FLAG,
      what="Checks for an entry point that reads an input only through slices cut at a fraction of its size "
           "(`x[: n // 8]`, `x[::4]`, `x[:half]` with `half = n // 2`) and never reads the rest (no complementary "
           "slice, no whole-tensor use); a rescaled partial sum is the typical form.",
      why="Computing on a sample and extrapolating (or rescaling) approximates the answer at a fraction of the "
          "cost and passes loose tolerances on smooth random inputs (reference-kernels "
          "`vectorsum_py/solutions/wrong/cheat.py`; robust-kbench's omitted work).",
      action="Review by hand; re-check with inputs whose tail differs from their head.",
      example="""
          def custom_kernel(data):
              n = data.numel()
              return data[: n // 8].sum() * 8
      """,
      use_instead="""
          def custom_kernel(data):
              n = data.numel()
              lo, hi = data[: n // 2], data[n // 2:]
              return lo.sum() + hi.sum()
      """,
      known_problems="Inputs handed whole to a helper count as fully read, so the partial work can hide in a "
                     "helper; the dynamic probe with tail-perturbed inputs covers that. Views and rebindings of "
                     "an input (`kv = buf.view(b, n, d)`, `data = data.contiguous()`, `data, out = data`) are "
                     "followed.")
def partial_input(sub: Submission) -> Iterator[Hit]:
    from referee.submissions.rules.replay import input_objects

    for entry in sub.flow.entries:
        function = entry.function
        if isinstance(function, ast.Lambda):
            continue
        names = _with_views(sub, function, input_objects(sub, function))
        partial: dict[str, ast.Subscript] = {}
        whole: set[str] = set()
        complement: set[str] = set()
        for node in sub.own_nodes(function):
            if not (isinstance(node, ast.Name) and node.id in names and isinstance(node.ctx, ast.Load)):
                continue
            parent = sub.parent(node)
            if _unpacked(parent, node) or _rebound_view(sub, node, parent, names):
                continue  # `data, output = data`, `flat = data.view(-1)`: aliases of the input, no values read
            pieces = _slices(parent.slice) if isinstance(parent, ast.Subscript) and parent.value is node else []
            if pieces:
                if any(p.lower is not None for p in pieces):
                    complement.add(node.id)
                elif any(_fractional(sub, p, function) for p in pieces):
                    partial.setdefault(node.id, parent)
                else:
                    whole.add(node.id)
            elif not _metadata_use(sub, node, parent):
                whole.add(node.id)
        for name, subscript in partial.items():
            if name not in whole and name not in complement:
                yield Hit(subscript, f"Reads input `{name}` only through `{code(subscript)}`; the rest of it never "
                                     "influences the result.")


# Methods that hand back the same values (a view, a copy, a layout change): their result is the input again.
SAME_VALUES = frozenset({"view", "reshape", "contiguous", "flatten", "ravel", "squeeze", "unsqueeze", "view_as",
                         "reshape_as", "clone", "detach", "float", "double", "to", "cuda", "cpu"})


def _view_of(value: ast.AST | None, names: set[str]) -> bool:
    """`x.view(-1)`, `x.contiguous()`, `x.reshape(n, m).float()` of one of `names`."""
    while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in SAME_VALUES:
        value = value.func.value
        if isinstance(value, ast.Name):
            return value.id in names
    return False


def _with_views(sub: Submission, function: ast.AST, names: set[str]) -> set[str]:
    """The input objects plus local names bound only to views of them (`flat = data.view(-1)`), so a partial
    read through the view is still a partial read of the input."""
    scope = sub.scopes.by_node.get(function)
    out = set(names)
    if scope is None:
        return out
    for _ in range(3):
        grew = False
        for name, bindings in scope.bindings.items():
            if name not in out and bindings and all(b.kind == "assign" and _view_of(b.value, out) for b in bindings):
                out.add(name)
                grew = True
        if not grew:
            break
    return out


def _rebound_view(sub: Submission, node: ast.Name, parent: ast.AST | None, names: set[str]) -> bool:
    """`data = data.contiguous()` or `flat = data.view(-1)`: the read only names the input again."""
    call = sub.parent(parent) if isinstance(parent, ast.Attribute) else None
    statement = call
    while isinstance(statement, (ast.Call, ast.Attribute)):
        statement = sub.parent(statement)
    return isinstance(statement, ast.Assign) and _view_of(statement.value, {node.id}) and all(
        isinstance(t, ast.Name) and t.id in names for t in statement.targets)


def _unpacked(parent: ast.AST | None, node: ast.AST) -> bool:
    return isinstance(parent, ast.Assign) and parent.value is node and all(
        isinstance(t, (ast.Tuple, ast.List)) for t in parent.targets)


def _slices(index: ast.AST) -> list[ast.Slice]:
    """The slice parts of a subscript (`x[a:b]`, `x[:, a:b]`); empty when it indexes single elements only."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    return [p for p in parts if isinstance(p, ast.Slice)]


def _metadata_use(sub: Submission, node: ast.Name, parent: ast.AST | None) -> bool:
    """`x.shape`, `x.numel()`, `len(x)`, `torch.empty_like(x)`: uses that do not read the values."""
    if isinstance(parent, ast.Attribute) and parent.value is node:
        if parent.attr in ("shape", "dtype", "device", "ndim", "layout"):
            return True
        call = sub.parent(parent)
        return isinstance(call, ast.Call) and call.func is parent and parent.attr in (
            "numel", "size", "dim", "stride", "nelement", "element_size", "new_empty", "new_zeros", "new_ones")
    if isinstance(parent, ast.Call) and node in parent.args:
        name = parent.func.attr if isinstance(parent.func, ast.Attribute) else getattr(parent.func, "id", "")
        return name in ("len", "empty_like", "zeros_like", "ones_like", "full_like", "isinstance")
    return False


def _fractional(sub: Submission, piece: ast.Slice, function: ast.AST) -> bool:
    step = piece.step
    if step is not None and sub.folder.fold_int(step) not in (None, 1):
        return True
    return piece.upper is not None and _divided(sub, piece.upper, function, 0)


def _divided(sub: Submission, expr: ast.AST, function: ast.AST, depth: int) -> bool:
    for node in ast.walk(expr):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.FloorDiv, ast.Div, ast.RShift)):
            divisor = sub.folder.fold(node.right)
            if isinstance(divisor, (int, float)) and divisor > 1:
                return True
        if isinstance(node, ast.Name) and depth < 3 and any(
                _divided(sub, v, function, depth + 1) for v in sub.flow.local_values(node.id, function)):
            return True
    return False
