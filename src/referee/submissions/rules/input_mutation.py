"""Input mutation: the submission writes into the tensors it was given.

If the checker recomputes the reference from the same (now overwritten) inputs, zeroing the inputs and
returning zeros passes (kernelbot `cheat-input.py`; KernelBench PR #82). Writing into an input that the kernel
then returns is the honest output-buffer pattern (tasks often pass the output tensor inside `data`), so the
rules look at which inputs are written and which are handed back.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.analysis.contract import member_positions
from referee.submissions.rules._util import code
from referee.submissions.rules.registry import Hit, rule

VIEW_METHODS = frozenset({"view", "view_as", "reshape", "reshape_as", "t", "transpose", "permute", "squeeze",
                          "unsqueeze", "narrow", "select", "expand", "expand_as", "as_strided", "detach", "unbind",
                          "split", "chunk", "diagonal", "flatten", "contiguous", "__getitem__", "movedim",
                          "unflatten", "swapaxes", "mT", "T"})
ALIAS_ATTRS = frozenset({"T", "mT", "H", "mH", "data", "real", "imag"})
NOT_MUTATING = frozenset({"requires_grad_", "share_memory_", "pin_memory_", "record_stream_", "retain_grad_"})
DUNDER_MUTATORS = frozenset({"__setitem__", "__delitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__",
                             "__ifloordiv__", "__imod__", "__ipow__", "__iand__", "__ior__", "__ixor__", "__ilshift__",
                             "__irshift__", "__imatmul__"})
CONSTANT_FILLS = frozenset({"zero_", "fill_", "normal_", "uniform_", "random_", "bernoulli_", "exponential_",
                            "geometric_", "cauchy_", "log_normal_", "fill_diagonal_"})


OVERWRITES = frozenset({"copy_", "zero_", "fill_", "set_", "resize_", "normal_", "uniform_", "random_",
                        "bernoulli_", "exponential_", "geometric_", "cauchy_", "log_normal_", "fill_diagonal_"})


@dataclass(frozen=True)
class Mutation:
    node: ast.AST
    root: str
    constant: bool
    how: str
    overwrite: bool = False


def _aliases(sub: Submission, function: ast.AST) -> dict[str, str]:
    """Local names that share storage with an input, mapped to the name they view (memoised; a copy)."""
    memo = sub.__dict__.setdefault("_inp_aliases", {})
    found = memo.get(function)
    if found is None:
        found = memo[function] = _find_aliases(sub, function)
    return dict(found)


def _find_aliases(sub: Submission, function: ast.AST) -> dict[str, str]:
    flow = sub.flow
    aliases = {name: name for name in flow.inputs(function)}
    scope = sub.scopes.by_node.get(function)
    if scope is None:
        return aliases
    for _ in range(6):
        grew = False
        for name, bindings in scope.bindings.items():
            if name in aliases:
                continue
            for binding in bindings:
                if binding.kind not in ("assign", "unpack", "for", "with") or binding.value is None:
                    continue
                root = _view_root(binding.value, aliases)
                if root is not None:
                    aliases[name] = root
                    grew = True
                    break
        if not grew:
            break
    return aliases


def _view_root(expr: ast.AST, aliases: dict[str, str]) -> str | None:
    """The alias name `expr` is a view of (`data[0]`, `a.view(-1)`, `x.T`), or None for a new tensor."""
    while True:
        if isinstance(expr, ast.Name):
            return expr.id if expr.id in aliases else None
        if isinstance(expr, ast.Subscript):
            if isinstance(expr.value, ast.Attribute) and expr.value.attr in ("shape", "stride"):
                return None
            expr = expr.value
        elif isinstance(expr, ast.Attribute) and expr.attr in ALIAS_ATTRS:
            expr = expr.value
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in VIEW_METHODS:
            expr = expr.func.value
        elif isinstance(expr, (ast.Tuple, ast.List)) and expr.elts:
            roots = {_view_root(e, aliases) for e in expr.elts}
            roots.discard(None)
            return next(iter(roots)) if len(roots) == 1 else None
        else:
            return None


def mutations(sub: Submission, function: ast.AST) -> list[Mutation]:
    """In-place writes into inputs (or views of them) made by `function` (memoised: four rules ask)."""
    memo = sub.__dict__.setdefault("_inp_mutations", {})
    found = memo.get(function)
    if found is None:
        found = memo[function] = _find_mutations(sub, function)
    return list(found)


def _find_mutations(sub: Submission, function: ast.AST) -> list[Mutation]:
    flow = sub.flow
    aliases = _aliases(sub, function)
    out: list[Mutation] = []

    def constant(value: ast.AST | None) -> bool:
        return value is None or not flow.is_tainted(value, function, values_only=True)

    for node in sub.own_nodes(function):
        if isinstance(node, ast.Call):
            func = node.func
            in_place = isinstance(func, ast.Attribute) and ((
                func.attr.endswith("_") and not func.attr.startswith("__") and func.attr not in NOT_MUTATING)
                or func.attr in DUNDER_MUTATORS)
            if in_place:
                root = _view_root(func.value, aliases)
                if root is not None:
                    is_constant = (func.attr in CONSTANT_FILLS and all(constant(a) for a in node.args)) or (
                        func.attr == "copy_" and bool(node.args) and constant(node.args[0])) or (
                        func.attr == "__setitem__" and len(node.args) == 2 and constant(node.args[1]))
                    out.append(Mutation(node, root, is_constant, f"`.{func.attr}()`", func.attr in OVERWRITES))
                    continue
            names = sub.resolver.qualnames(func)
            for keyword in node.keywords:
                if keyword.arg == "out":
                    root = _view_root(keyword.value, aliases)
                    if root is not None:
                        operands = [a for a in node.args if _view_root(a, aliases) == root]
                        out.append(Mutation(node, root, False, "`out=`", not operands))
            functions = {n for n in names if n.startswith(("torch.", "numpy.")) and n.endswith("_") and "()" not in n}
            if node.args and functions:
                root = _view_root(node.args[0], aliases)
                if root is not None:
                    fill = any(n.rsplit(".", 1)[-1] in CONSTANT_FILLS or n.startswith("torch.nn.init.")
                               for n in functions)
                    out.append(Mutation(node, root, fill, f"`{sorted(functions)[0]}`"))
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) or (isinstance(target, ast.Attribute) and target.attr == "data"):
                    root = _view_root(target.value, aliases)
                    if root is not None:
                        whole = isinstance(target, ast.Subscript) and _whole(target.slice)
                        fixed = isinstance(node, ast.Assign) and constant(node.value)
                        # `c[:, 0, i] = res[:, 0]` writes new values into a slot; only a value that reads the
                        # target's own earlier contents (`a[i] = a[i] + b`, `a[i] += b`) accumulates into it
                        fresh = isinstance(node, ast.Assign) and not _reads(node.value, root, aliases)
                        out.append(Mutation(node, root, fixed, "item assignment", whole or fresh))
                elif isinstance(node, ast.AugAssign) and isinstance(target, ast.Name) and target.id in aliases:
                    out.append(Mutation(node, target.id, False, "augmented assignment"))
    return out


def _reads(expr: ast.AST, root: str, aliases: dict[str, str]) -> bool:
    """Whether `expr` mentions `root` or a name that views it."""
    return any(isinstance(n, ast.Name) and (n.id == root or aliases.get(n.id) == root) for n in ast.walk(expr))


def _whole(index: ast.AST) -> bool:
    """`x[:]`, `x[...]`, `x[:, :]`: an index that selects every element (the write replaces the tensor)."""
    if isinstance(index, ast.Constant) and index.value is Ellipsis:
        return True
    if isinstance(index, ast.Slice):
        return not (index.lower or index.upper or index.step)
    return isinstance(index, ast.Tuple) and bool(index.elts) and all(_whole(e) for e in index.elts)


def _contract_outputs(sub: Submission, function: ast.AST) -> set[str] | None:
    """The entry's names for members the task's contract calls outputs or state; None without a task."""
    contract = sub.contract
    if contract is None:
        return None
    return {name for name, index in member_positions(function).items() if contract.is_output(index)}


def _is_returned(root: str, members: dict[str, int], aliases: dict[str, str], returned: set[str]) -> bool:
    """Whether the written object is handed back. A member of `data` (`x` in `config, x, kv = data`) is judged
    by its own name: every member aliases `data`, and returning `kv` does not return `x`."""
    if root in members:
        return root in returned
    return root in returned or aliases.get(root) in returned


def _returned(sub: Submission, function: ast.AST, aliases: dict[str, str]) -> set[str]:
    """Names handed back as objects (`return out`, `return (out, aux)`, `return out.view(n)`), and what they
    view; names only used to compute the returned value do not count."""
    names: set[str] = set()
    for ret in sub.flow.returns(function):
        stack = [ret.value if isinstance(ret, ast.Return) else ret]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, (ast.Tuple, ast.List)):
                stack.extend(node.elts)
            elif isinstance(node, (ast.Starred, ast.Subscript)) or (
                    isinstance(node, ast.Attribute) and node.attr in ALIAS_ATTRS):
                stack.append(node.value)
            elif isinstance(node, ast.IfExp):
                stack.extend((node.body, node.orelse))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                    node.func.attr in VIEW_METHODS or node.func.attr.endswith("_")):
                stack.append(node.func.value)
    names |= _filled_into(sub, function, names)
    return names | {aliases[n] for n in names if n in aliases}


def _filled_into(sub: Submission, function: ast.AST, containers: set[str]) -> set[str]:
    """Names put into a returned list (`outs.append(c)` then `return outs` or `return outs[-1]`): the group
    GEMM entries collect each group's output buffer that way."""
    found: set[str] = set()
    for node in sub.own_nodes(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("append", "extend", "insert") and isinstance(node.func.value, ast.Name) and \
                node.func.value.id in containers and node.args:
            item = node.args[-1]
            if isinstance(item, ast.Name):
                found.add(item.id)
            elif isinstance(item, (ast.Tuple, ast.List)):
                found.update(e.id for e in item.elts if isinstance(e, ast.Name))
    return found


def _unreturned(sub: Submission) -> Iterator[tuple[ast.AST, Mutation, bool]]:
    for entry in sub.flow.entries:
        function = entry.function
        if isinstance(function, ast.Lambda):
            continue
        found = mutations(sub, function)
        if not found:
            continue
        aliases = _aliases(sub, function)
        returned = _returned(sub, function, aliases)
        output_constant = all(not sub.flow.is_tainted(r.value, function, values_only=True)
                              for r in sub.flow.returns(function) if isinstance(r, ast.Return))
        outputs = _contract_outputs(sub, function) or set()
        members = member_positions(function)
        for item in found:
            if _is_returned(item.root, members, aliases, returned):
                continue
            if item.root in outputs or aliases.get(item.root) in outputs:
                continue  # the task's own output or state slot: the reference writes it too
            yield function, item, output_constant


@rule("INP003", "Updates an input in place and returns it", "input-mutation", Verdict.FLAG,
      what="Checks for an entry point that accumulates into an input (`a.add_(b)`, `a += b`, `torch.add(a, b, "
           "out=a)`) and returns that input, without first overwriting it as an output buffer (`copy_`, `zero_`, "
           "`fill_`, `x[:] = ...`).",
      why="The output then aliases the harness's input: a checker that recomputes the reference from `data` "
          "compares the output with itself, and later calls see modified inputs.",
      action="Review whether the task passes an output buffer in `data`; re-check with the harness comparing "
             "against a pristine copy of the inputs.",
      example="""
          def custom_kernel(data):
              a, b = data
              a.add_(b)
              return a
      """,
      use_instead="""
          def custom_kernel(data):
              a, b = data
              return a + b
      """,
      known_problems="Writing into a member of `data` and returning it (`c[...] = a @ b; return c`, `out=c`, "
                     "`c.copy_()`) is the output-buffer contract and is not reported. With the task "
                     "(`analysis.contract.task_contract`), members the reference writes, returns or never reads "
                     "are the task's outputs and accumulating into them is not reported either; without it, "
                     "accumulating into a member without clearing it first is.")
def input_returned(sub: Submission) -> Iterator[Hit]:
    for entry in sub.flow.entries:
        function = entry.function
        if isinstance(function, ast.Lambda):
            continue
        aliases = _aliases(sub, function)
        returned = _returned(sub, function, aliases)
        outputs = _contract_outputs(sub, function)
        members = member_positions(function)
        found = mutations(sub, function)
        cleared = {m.root for m in found if m.overwrite} | {aliases.get(m.root) for m in found if m.overwrite}
        for item in found:
            root = aliases.get(item.root, item.root)
            if item.overwrite or item.root in cleared or root in cleared or item.root in (outputs or ()):
                continue
            if _is_returned(item.root, members, aliases, returned):
                yield Hit(item.node, f"Accumulates into input `{item.root}` with {item.how} and returns it, so the "
                                     "output aliases the harness's input.")


@rule("INP001", "Writes into an input it does not return", "input-mutation", Verdict.FLAG,
      what="Checks for in-place writes (`x.add_()`, `x[...] = v`, `out=x`, `x += v`) into an entry-point input "
           "or a view of it, when that input is not what the function returns.",
      why="Changing the inputs can change what the checker compares against when it recomputes the reference "
          "from them, and it breaks the harness's assumption that inputs are read-only.",
      action="Review by hand; re-check with the harness comparing against a pristine copy of the inputs.",
      example="""
          def custom_kernel(data):
              a, b = data
              a.mul_(0.5)
              return a @ b * 2
      """,
      use_instead="""
          def custom_kernel(data):
              a, b, out = data
              out.copy_(a @ b)
              return out
      """,
      known_problems="Without the task, a scratch buffer or state (a KV cache) passed inside `data` trips this "
                     "rule; with the task's contract, members the reference itself writes or returns do not.")
def input_write(sub: Submission) -> Iterator[Hit]:
    for function, item, output_constant in _unreturned(sub):
        if item.constant and output_constant:
            continue  # INP002 reports it
        yield Hit(item.node, f"Writes into input `{item.root}` with {item.how} in `{getattr(function, 'name', '?')}` "
                             "but does not return it.")


@rule("INP002", "Overwrites inputs and returns a constant", "input-mutation", Verdict.FAIL,
      what="Checks for an entry point that overwrites an input with values that do not come from the inputs "
           "(`zero_()`, `fill_(c)`, random fills, `copy_(constant)`) and returns a value that does not depend on "
           "the input values either.",
      why="This is kernelbot's `cheat-input.py`: if the checker recomputes the reference from the overwritten "
          "inputs, the constant output matches it.",
      action="Disqualify the run (FAIL).",
      example="""
          import torch
          def custom_kernel(data):
              data.zero_()
              return torch.zeros_like(data)
      """,
      use_instead="""
          import torch
          def custom_kernel(data):
              x, out = data
              out.zero_()
              out += x.relu()
              return out
      """)
def input_overwrite(sub: Submission) -> Iterator[Hit]:
    for function, item, output_constant in _unreturned(sub):
        if item.constant and output_constant:
            yield Hit(item.node, f"Overwrites input `{item.root}` with {item.how} and returns a value that does not "
                                 f"depend on the inputs (`{getattr(function, 'name', '?')}`).")


__all__ = ["code", "mutations"]
