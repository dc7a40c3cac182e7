"""Benchmark-shape and input-probe shortcuts: early returns that skip the work on recognised inputs.

Specialising for shapes is legitimate (a tuned kernel per benchmark size) as long as the specialised path still
computes from the input's values. What is reported is a branch on an exact size, or a cheap probe of the
input's values (`not x.any()`, `torch.equal(x, x.T)`), that returns something that does not depend on the
input's values at all (robust-kbench: "hardcode solutions for specific input shapes").
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.rules._util import code
from referee.submissions.rules.registry import Hit, rule

PROBE_METHODS = frozenset({"any", "all", "count_nonzero", "equal", "allclose", "isclose", "is_nonzero", "max",
                           "min", "item", "sum", "amax", "amin", "nonzero", "unique", "tolist", "abs", "norm"})
PROBE_FUNCS = frozenset({"torch.any", "torch.all", "torch.count_nonzero", "torch.equal", "torch.allclose",
                         "torch.isclose", "torch.max", "torch.min", "torch.sum", "torch.nonzero", "numpy.any",
                         "numpy.all", "numpy.array_equal", "numpy.allclose", "builtins.any", "builtins.all"})


def _int_literals(sub: Submission, node: ast.AST) -> list[int]:
    value = sub.folder.fold(node)
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, (tuple, list)):
        out: list[int] = []
        for item in value:
            if isinstance(item, int) and not isinstance(item, bool):
                out.append(item)
            elif isinstance(item, (tuple, list)):
                out.extend(i for i in item if isinstance(i, int) and not isinstance(i, bool))
        return out
    if isinstance(node, (ast.Set, ast.Tuple, ast.List)):
        out = []
        for element in node.elts:
            out.extend(_int_literals(sub, element))
        return out
    return []


def _shape_test(sub: Submission, test: ast.AST, function: ast.AST) -> ast.Compare | None:
    """A comparison of an input's size with exact literal sizes (other than 0 and 1)."""
    flow = sub.flow
    for node in ast.walk(test):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        sizes = [o for o in operands if flow.is_tainted(o, function) and not flow.is_tainted(o, function, True)
                 and not _rank(o)]
        literals = [n for o in operands if o not in sizes for n in _int_literals(sub, o)]
        if sizes and any(n > 1 for n in literals) and any(isinstance(op, (ast.Eq, ast.In, ast.Is)) for op in node.ops):
            return node
    return None


def _rank(expr: ast.AST) -> bool:
    """`x.ndim`, `x.dim()`, `len(x.shape)`: the number of dimensions, not a benchmark size."""
    if isinstance(expr, ast.Attribute) and expr.attr == "ndim":
        return True
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr == "dim":
            return True
        if isinstance(func, ast.Name) and func.id == "len" and expr.args:
            arg = expr.args[0]
            return (isinstance(arg, ast.Attribute) and arg.attr == "shape") or (
                isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "size")
    return False


def _probe_test(sub: Submission, test: ast.AST, function: ast.AST) -> ast.AST | None:
    """A cheap global predicate over the input's values: `.any()`, `torch.equal(x, x.T)`, `x.max() == 0`."""
    flow = sub.flow
    for node in ast.walk(test):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in PROBE_METHODS and flow.is_tainted(func.value, function,
                                                                                               True):
            return node
        if sub.resolver.qualnames(func) & PROBE_FUNCS and any(flow.is_tainted(a, function, True) for a in node.args):
            return node
    return None


def _gated_returns(sub: Submission) -> Iterator[tuple[ast.AST, ast.Return, ast.AST]]:
    """(entry function, return, guard test) for returns whose value does not depend on input values."""
    flow = sub.flow
    for entry in flow.entries:
        function = entry.function
        if isinstance(function, ast.Lambda):
            continue
        for ret in flow.returns(function):
            value = ret.value
            if value is None or (isinstance(value, ast.Constant) and value.value is None):
                continue
            if flow.is_tainted(value, function, values_only=True) or _filled_by_call(sub, function, value):
                continue
            tests = list(flow.guards(ret, function))
            for ancestor in sub.ancestors(ret):
                if ancestor is function:
                    break
                if isinstance(ancestor, ast.match_case):
                    match = sub.parent(ancestor)
                    tests.append(ast.Compare(left=match.subject, ops=[ast.Eq()],
                                             comparators=[_pattern_value(ancestor.pattern)]))
            for test in tests:
                yield function, ret, test


def _filled_by_call(sub: Submission, function: ast.AST, value: ast.AST) -> bool:
    """The returned expression (`_y_cache[key]`) is handed, as written, to a call that also takes input values:
    a kernel writes the output into it (`asm_gemm(A, B, _y_cache[key])`)."""
    if not isinstance(value, (ast.Subscript, ast.Attribute)):
        return False  # plain names are followed by the taint analysis
    wanted = ast.dump(value)
    flow = sub.flow
    for call in sub.own_nodes(function):
        if not isinstance(call, ast.Call):
            continue
        args = [*call.args, *(k.value for k in call.keywords)]
        if any(type(a) is type(value) and ast.dump(a) == wanted for a in args) and any(
                flow.is_tainted(a, function, values_only=True) for a in args):
            return True
    return False


def _pattern_value(pattern: ast.AST) -> ast.AST:
    if isinstance(pattern, ast.MatchValue):
        return pattern.value
    if isinstance(pattern, ast.MatchSequence):
        return ast.Tuple(elts=[_pattern_value(p) for p in pattern.patterns], ctx=ast.Load())
    if isinstance(pattern, ast.MatchOr):
        return ast.Tuple(elts=[_pattern_value(p) for p in pattern.patterns], ctx=ast.Load())
    return ast.Constant(value=None)


@rule("SHP001", "Exact-shape branch returns input-independent data", "shortcuts", Verdict.FAIL,
      what="Checks for an entry point that, under a test comparing an input's size with exact literal sizes "
           "(`data.shape == (4096, 4096)`, `numel() == 65536`, `match x.shape: case (...)`), returns a value that "
           "does not depend on the input's values.",
      why="The benchmark shapes are public; returning prepared or constant data for exactly those shapes scores "
          "without computing (kernelbot `cheat-rng.py` branches on `numel() == 65536`).",
      action="Disqualify the run (FAIL); re-run with perturbed shapes and fresh seeds.",
      example="""
          import torch
          def custom_kernel(data):
              if data.numel() == 65536:
                  return torch.ones(65536, device=data.device, dtype=data.dtype)
              return data.cumsum(0)
      """,
      use_instead="""
          import torch
          def custom_kernel(data):
              if data.numel() == 65536:
                  return _cumsum_tuned_64k(data)
              if data.numel() == 0:
                  return torch.empty_like(data)
              return data.cumsum(0)
      """,
      known_problems="Shape branches inside helper functions are not followed; a zero-size early return is "
                     "allowed.",
      kernelguard=["HARDCODED_SHAPES", "BENCHMARK_UNSAFE_ALGO_DISPATCH"])
def shape_shortcut(sub: Submission) -> Iterator[Hit]:
    seen: set[int] = set()
    for function, ret, test in _gated_returns(sub):
        compare = _shape_test(sub, test, function)
        if compare is not None and id(ret) not in seen:
            seen.add(id(ret))
            yield Hit(ret, f"Returns `{code(ret.value)}`, which ignores the input's values, when "
                           f"`{code(compare)}` (an exact benchmark size).")


@rule("SHP002", "Input probe gates an input-independent return", "shortcuts", Verdict.FLAG,
      what="Checks for an entry point that probes the input's values with a cheap global predicate (`.any()`, "
           "`.all()`, `count_nonzero`, `torch.equal`, `max() == 0`) and then returns a value that does not "
           "depend on the input's values.",
      why="Special-casing degenerate inputs (all zeros, symmetric, diagonal) can exploit a narrow test "
          "distribution; the fast path may never run on real data (KernelGuard TRIVIAL_PROBE, eigh's diagonal "
          "fast path).",
      action="Review by hand; re-run with inputs that hit and miss the probe.",
      example="""
          import torch
          def custom_kernel(data):
              if not data.any():
                  return torch.zeros_like(data)
              return torch.linalg.inv(data)
      """,
      use_instead="""
          import torch
          def custom_kernel(data):
              if torch.isnan(data).any():
                  raise ValueError("NaN input")
              return torch.linalg.inv(data)
      """,
      kernelguard=["TRIVIAL_PROBE", "INPUT_STRUCTURE_TRUNCATION_DISPATCH"])
def probe_shortcut(sub: Submission) -> Iterator[Hit]:
    seen: set[int] = set()
    for function, ret, test in _gated_returns(sub):
        probe = _probe_test(sub, test, function)
        if probe is not None and id(ret) not in seen:
            seen.add(id(ret))
            yield Hit(ret, f"Returns `{code(ret.value)}`, which ignores the input's values, after probing them "
                           f"with `{code(probe)}`.")
