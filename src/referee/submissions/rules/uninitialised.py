"""Uninitialised outputs: `torch.empty` handed back without anything written into it.

The caching allocator can return a block that still holds the reference's output from the correctness run, so
an unwritten `torch.empty_like` "matches" (the Sakana AI CUDA Engineer incident; reference-kernels
`solutions/wrong/empty.py`; KernelBench PR #82).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.rules._util import code
from referee.submissions.rules.registry import Hit, rule

SIZE_WORDS = frozenset({"numel", "shape", "size", "nelement", "len"})


def _zero_size_guard(sub: Submission, test: ast.AST) -> bool:
    """`x.numel() == 0`, `not x.numel()`, `len(x) == 0`, `0 in x.shape`: the empty-input edge case."""
    for node in ast.walk(test):
        mentions = any((isinstance(n, ast.Attribute) and n.attr in SIZE_WORDS)
                       or (isinstance(n, ast.Name) and n.id in SIZE_WORDS) for n in ast.walk(node))
        if not mentions:
            continue
        if isinstance(node, ast.Compare) and any(sub.folder.fold(c) == 0 for c in [node.left, *node.comparators]):
            return True
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return True
    return False


def _empty_shape(sub: Submission, call: ast.AST) -> bool:
    """`torch.empty(0)`, `torch.empty((0, n))`: nothing to initialise."""
    if not isinstance(call, ast.Call):
        return False
    for arg in call.args:
        value = sub.folder.fold(arg)
        if value == 0 or (isinstance(value, (tuple, list)) and 0 in value):
            return True
    return False


@rule("UNI001", "Returns an uninitialised buffer", "uninitialised", Verdict.FAIL,
      what="Checks for an entry point that returns `torch.empty`, `empty_like`, `empty_strided`, `new_empty` (or "
           "a view of one) that nothing writes into: no kernel launch or call receives it, no in-place method, no "
           "item assignment.",
      why="Uninitialised memory can still hold the reference's answer from the previous correctness run, so the "
          "no-op 'kernel' passes (Sakana AI CUDA Engineer; reference-kernels `solutions/wrong/empty.py`).",
      action="Disqualify the run (FAIL); re-check with freshly poisoned (NaN-filled) allocations.",
      example="""
          import torch
          def custom_kernel(data):
              return torch.empty(size=data.shape, device=data.device, dtype=data.dtype)
      """,
      use_instead="""
          import torch
          def custom_kernel(data):
              out = torch.empty_like(data)
              _launch_prefix_sum(data, out, data.numel())
              return out
      """,
      known_problems="Any call that receives the buffer counts as writing it, so a dummy call hides the empty "
                     "buffer; the dynamic probe with poisoned allocations catches that.")
def uninitialised_output(sub: Submission) -> Iterator[Hit]:
    flow = sub.flow
    for entry in flow.entries:
        function = entry.function
        for ret, origins in flow.return_origins(function):
            for origin in origins:
                if origin.kind != "alloc" or _empty_shape(sub, origin.node):
                    continue
                if any(_zero_size_guard(sub, test) for test in flow.guards(ret, function)):
                    continue
                yield Hit(ret, f"`{getattr(function, 'name', '?')}` returns `{code(origin.node)}` and nothing writes "
                               "into it.", related=[(origin.node, "allocated here")])
                break


@rule("UNI002", "Returns the task's output buffer unwritten", "uninitialised", Verdict.FAIL,
      what="Checks for an entry point that returns a member of `data` (the output slot the task preallocates) "
           "that it never writes, never hands to a call and never computes from, while discarding or ignoring "
           "every member before it (`_, output = data; return output`). With the task's contract, any returned "
           "output slot that nothing writes is reported.",
      why="The harness preallocates the output inside `data`; handing it back untouched is the no-op kernel of "
          "reference-kernels `pmpp_v2/*/solutions/wrong/empty.py`, and the buffer can still hold an earlier "
          "answer (the same stale-memory trick as UNI001).",
      action="Disqualify the run (FAIL); re-check with a freshly poisoned (NaN-filled) output buffer.",
      example="""
          def custom_kernel(data):
              _, output = data
              return output
      """,
      use_instead="""
          def custom_kernel(data):
              x, output = data
              output.copy_(x.cumsum(0))
              return output
      """,
      known_problems="Without the task, the first member returned as it is (`input, output = data; return "
                     "input`, the identity task's answer) is not reported.")
def unwritten_output_slot(sub: Submission) -> Iterator[Hit]:
    from referee.submissions.analysis.contract import member_positions

    for entry in sub.flow.entries:
        function = entry.function
        members = member_positions(function)
        if not entry.resolved or isinstance(function, ast.Lambda) or len(members) < 2:
            continue
        loads = [n for n in sub.own_nodes(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
        loads += [n.target for n in sub.own_nodes(function) if isinstance(n, ast.AugAssign)]  # `c += a @ b`
        returns = [r for r in sub.flow.returns(function) if isinstance(r, ast.Return)]
        for ret in returns:
            value = ret.value
            if not (isinstance(value, ast.Name) and value.id in members):
                continue
            position = members[value.id]
            used = {n.id for n in loads if n is not value and n.id in members}
            if sub.contract is not None:  # the task says which member is the output: only it must be untouched
                unwritten = sub.contract.is_output(position) and value.id not in used
            else:  # without the task: a later member handed back while every member is ignored
                unwritten = position > 0 and not used
            if unwritten and len(returns) == 1:
                yield Hit(ret, f"Returns `{value.id}`, the output slot of `data`, without writing into it or "
                               "computing anything from the inputs.")
