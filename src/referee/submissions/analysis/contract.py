"""The task's output contract, read statically from its `reference.py`: which members of `data` are outputs or
in-place state that the reference itself writes or hands back.

Most reference-kernels tasks pass a preallocated output inside `data` (`a, b, c = data; c[...] = a @ b;
return c`), and MLA decode passes a KV cache the reference updates and returns. A submission that writes into
those members is following the contract, not mutating its inputs; the input-mutation rules and the dynamic
input-integrity probe use `task_contract` to tell the two apart. Nothing is imported or run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

ENTRY_NAMES = ("ref_kernel", "reference", "ref_impl", "reference_kernel")


@dataclass(frozen=True)
class Contract:
    """What the reference does with each member of `data`, by position in its unpacking."""

    entry: str | None = None  # the reference function read, None when none was found
    names: tuple[str, ...] = ()  # member names in the reference's own unpacking order
    written: frozenset[int] = field(default_factory=frozenset)  # members the reference writes in place
    returned: frozenset[int] = field(default_factory=frozenset)  # members the reference hands back as objects
    unused: frozenset[int] = field(default_factory=frozenset)  # members it unpacks but never reads: output slots
    tf32_sensitive: bool = False  # fp32 matmuls/convolutions checked at a tolerance TF32 would break
    rtol: float | None = None  # the checker's explicit relative tolerance (smallest one given), None: the default
    notes: tuple[str, ...] = ()

    @property
    def outputs(self) -> frozenset[int]:
        """Members that are outputs or state by the task's own contract: written or returned by the reference,
        or unpacked and never read by it (`a, b, c = data; return a @ b`: `c` is the slot the submission fills)."""
        return self.written | self.returned | self.unused

    def is_output(self, position: int | None) -> bool:
        return position is not None and position in self.outputs

    def as_dict(self) -> dict:
        return {"entry": self.entry, "names": list(self.names), "written": sorted(self.written),
                "returned": sorted(self.returned), "unused": sorted(self.unused), "outputs": sorted(self.outputs),
                "tf32_sensitive": self.tf32_sensitive, "rtol": self.rtol,
                "notes": list(self.notes)}


def task_contract(reference_source: str) -> Contract:
    """The output contract of a task, from the source of its `reference.py` (never raises)."""
    try:
        tree = ast.parse(reference_source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return Contract(notes=("reference.py does not parse",))
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    entry = next((functions[name] for name in ENTRY_NAMES if name in functions), None)
    if entry is None or not entry.args.args:
        return Contract(notes=("no reference entry point (ref_kernel) with a data argument",))
    positions = member_positions(entry)
    if not positions:
        return Contract(entry=entry.name, notes=("the reference does not unpack data by position",))
    slots = ["_"] * (max(positions.values()) + 1)
    for name, index in positions.items():
        slots[index] = name
    names = tuple(slots)
    from referee.submissions.analysis.source import Submission
    from referee.submissions.rules.input_mutation import mutations

    sub = Submission(reference_source, "reference.py", tree=tree)
    written = frozenset(positions[m.root] for m in mutations(sub, entry) if m.root in positions)
    returned = frozenset(positions[n] for n in _returned_names(entry) if n in positions)
    read = {n.id for n in ast.walk(entry) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    unused = frozenset(i for name, i in positions.items() if name not in read and name != "_")
    return Contract(entry=entry.name, names=names, written=written, returned=returned, unused=unused,
                    tf32_sensitive=tf32_sensitive(tree), rtol=checker_rtol(tree))


MATMUL_NAMES = frozenset({"matmul", "mm", "bmm", "einsum", "linear", "conv1d", "conv2d", "conv3d", "addmm",
                          "baddbmm", "Linear", "Conv2d", "Conv1d", "scaled_dot_product_attention"})
TF32_SAFE_RTOL = 1e-2  # TF32 keeps ~10 mantissa bits (relative error ~1e-3): looser checks cannot see it


def tf32_sensitive(tree: ast.Module) -> bool:
    """Whether switching TF32 on could change the check: the reference does float32 matmuls or convolutions
    and its checker's relative tolerance is tighter than TF32's error (`make_match_reference(..., rtol=...)`).
    Block-scaled fp8/fp4 GEMMs (`torch._scaled_mm`) never run in TF32, whatever their `out_dtype`."""
    matmul = any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult) for n in ast.walk(tree)) or any(
        isinstance(n, ast.Call) and _callee(n.func) in MATMUL_NAMES for n in ast.walk(tree))
    float32 = any(isinstance(n, ast.Attribute) and n.attr in ("float32", "float") for n in ast.walk(tree))
    rtol = checker_rtol(tree)
    return matmul and float32 and not (rtol is not None and rtol >= TF32_SAFE_RTOL)


def checker_rtol(tree: ast.Module) -> float | None:
    """The smallest `rtol=` the reference passes (`make_match_reference(ref_kernel, rtol=2e-2)`); None when it
    gives none, so the checker's own default (1e-5 in reference-kernels' utils) applies."""
    rtols = [k.value.value for n in ast.walk(tree) if isinstance(n, ast.Call) for k in n.keywords
             if k.arg == "rtol" and isinstance(k.value, ast.Constant) and isinstance(k.value.value, (int, float))
             and not isinstance(k.value.value, bool)]
    return float(min(rtols)) if rtols else None


def _callee(func: ast.AST) -> str | None:
    """The called name (`torch.mm(...)` -> `mm`): a matmul is a call, not a variable that happens to be called
    `mm` (nvfp4's reference indexes its scale layout with `mm = i_grid // 128`)."""
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def member_positions(function: ast.AST) -> dict[str, int]:
    """Names bound to members of the function's first parameter: `a, b, c = data` or `c = data[2]`."""
    cached = getattr(function, "_referee_members", None)
    if cached is not None:
        return cached
    args = getattr(function, "args", None)
    if args is None or not args.args:
        return {}
    param = args.args[0].arg
    out: dict[str, int] = {}
    for node in _assignments(function):
        if len(node.targets) != 1:
            continue
        target, value = node.targets[0], node.value
        if isinstance(value, ast.Name) and value.id == param and isinstance(target, (ast.Tuple, ast.List)):
            for index, element in enumerate(target.elts):
                if isinstance(element, ast.Name):
                    out.setdefault(element.id, index)
        elif isinstance(target, ast.Name) and _index_of(value, param) is not None:
            out.setdefault(target.id, _index_of(value, param))
    function._referee_members = out  # memoised on the node: every input-mutation rule asks, per entry
    return out


STATEMENT_LISTS = ("body", "orelse", "finalbody", "handlers", "cases")


def _assignments(function: ast.AST) -> list[ast.Assign]:
    """`=` statements anywhere in the function's statement tree (nested blocks and defs included), found without
    walking into expressions: this runs for every entry of every file."""
    out: list[ast.Assign] = []
    body = getattr(function, "body", None)
    stack = list(body) if isinstance(body, list) else []  # a lambda's body is one expression: no statements
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Assign):
            out.append(node)
        for name in STATEMENT_LISTS:
            block = getattr(node, name, None)
            if block:
                stack.extend(block)
    out.sort(key=lambda n: (n.lineno, n.col_offset))
    return out


def _index_of(expr: ast.AST, param: str) -> int | None:
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name) and expr.value.id == param and \
            isinstance(expr.slice, ast.Constant) and isinstance(expr.slice.value, int):
        return expr.slice.value
    return None


def _returned_names(function: ast.AST) -> set[str]:
    """Names a return statement hands back as objects: `return c`, `return out, kv_cache`."""
    names: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and node.value is not None:
            stack = [node.value]
            while stack:
                item = stack.pop()
                if isinstance(item, ast.Name):
                    names.add(item.id)
                elif isinstance(item, (ast.Tuple, ast.List)):
                    stack.extend(item.elts)
    return names
