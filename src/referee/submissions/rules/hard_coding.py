"""Seed reproduction and hard-coded answers: outputs that were known before the call.

The public `task.yml` seeds plus the public `generate_input` let a submission regenerate benchmark inputs and
answers (kernelbot `cheat-rng.py`); a table of precomputed outputs can ride along as a literal or an encoded
blob. The secret seed defeats the first only in runs that use it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.rules._util import calls, code
from referee.submissions.rules.registry import Hit, rule

SEEDERS = frozenset({"torch.manual_seed", "torch.cuda.manual_seed", "torch.cuda.manual_seed_all", "torch.seed",
                     "numpy.random.seed", "random.seed", "torch.random.manual_seed", "numpy.random.default_rng",
                     "numpy.random.RandomState", "torch.Generator.manual_seed", "lightning.seed_everything",
                     "transformers.set_seed"})
LITERAL_RETURN_MIN = 16
LITERAL_DATA_MIN = 256


def constant_seeds(sub: Submission) -> list[tuple[ast.Call, str]]:
    """Seeding calls with a constant seed: `torch.manual_seed(125432)`, `Generator().manual_seed(42)`."""
    found = []
    for call in sub.nodes(ast.Call):
        names = sub.resolver.qualnames(call.func)
        seeder = next((n for n in sorted(names) if n in SEEDERS), None)
        if seeder is None and isinstance(call.func, ast.Attribute) and call.func.attr in ("manual_seed", "seed"):
            seeder = f"{code(call.func.value, 30)}.{call.func.attr}"
        if seeder is None or not call.args:
            continue
        if _constant_derived(sub, call.args[0], 0):
            found.append((call, seeder))
    return found


def _constant_derived(sub: Submission, expr: ast.AST, depth: int) -> bool:
    """A constant, or a value drawn from a literal table (`for n, seed in PUBLIC_CASES:`)."""
    from referee.submissions.analysis import NOTHING

    if sub.folder.fold(expr) is not NOTHING:
        return True
    if depth > 3:
        return False
    if isinstance(expr, ast.BinOp):
        return _constant_derived(sub, expr.left, depth + 1) and _constant_derived(sub, expr.right, depth + 1)
    if isinstance(expr, ast.Call) and sub.resolver.matches(expr.func, "builtins.int") and expr.args:
        return _constant_derived(sub, expr.args[0], depth + 1)
    if isinstance(expr, ast.Name):
        scope, bindings = sub.scopes.bindings(expr.id, expr)
        if scope is None or not bindings or expr.id in scope.params:
            return False
        return all(b.kind in ("for", "unpack", "assign") and b.value is not None
                   and _constant_derived(sub, b.value, depth + 1) for b in bindings)
    if isinstance(expr, ast.Subscript):
        return _constant_derived(sub, expr.value, depth + 1)
    return False


def _origin_order(origin: object) -> tuple[int, int, str]:
    node = getattr(origin, "node", None)
    return getattr(node, "lineno", 0) or 0, getattr(node, "col_offset", 0) or 0, str(getattr(origin, "kind", ""))


def _entry_returns(sub: Submission, kinds: tuple[str, ...]) -> Iterator[tuple[ast.AST, ast.AST, object]]:
    for entry in sub.flow.entries:
        for ret, origins in sub.flow.return_origins(entry.function):
            for origin in sorted(origins, key=_origin_order):  # a set: ordered, so the message is reproducible
                if origin.kind in kinds:
                    yield entry.function, ret, origin


@rule("HCA001", "Regenerates inputs or outputs from a fixed seed", "hard-coding", Verdict.FAIL,
      what="Checks for an entry point that returns random-generator output (`torch.rand*`, `normal_()`, numpy "
           "random) in a file that seeds a generator with a constant.",
      why="Seeding with a public benchmark seed and drawing the same random numbers as `generate_input` "
          "reproduces the expected data without computing anything (kernelbot `cheat-rng.py`).",
      action="Disqualify the run (FAIL); re-run with a secret seed.",
      example="""
          import torch
          def custom_kernel(data):
              g = torch.Generator(device=data.device).manual_seed(125432)
              return torch.rand(data.numel(), generator=g, device=data.device, dtype=data.dtype)
      """,
      use_instead="""
          import torch
          def custom_kernel(data):
              x, p = data
              keep = torch.rand_like(x) > p
              return x * keep / (1 - p)
      """)
def seeded_output(sub: Submission) -> Iterator[Hit]:
    seeds = constant_seeds(sub)
    if not seeds:
        return
    seen: set[int] = set()
    for function, ret, origin in _entry_returns(sub, ("rng",)):
        if id(ret) in seen:
            continue
        seen.add(id(ret))
        yield Hit(ret, f"`{getattr(function, 'name', '?')}` returns data derived from random numbers "
                       f"(`{code(origin.node)}`) drawn after seeding with a value fixed in the source "
                       f"(`{code(seeds[0][0])}`).", related=[(seeds[0][0], "constant seed")])


@rule("HCA002", "Returns hard-coded data", "hard-coding", Verdict.FAIL,
      what=f"Checks for an entry point whose returned value is built from a numeric literal with at least "
           f"{LITERAL_RETURN_MIN} numbers (directly, through a module constant or a table indexed by shape).",
      why="An output that is a literal was computed before the submission ran: it is a stored answer for the "
          "benchmark inputs, not a kernel.",
      action="Disqualify the run (FAIL); re-run with unseen inputs.",
      example="""
          import torch
          _ANSWER = torch.tensor([0.1, 0.5, 0.2, 0.9, 0.3, 0.7, 0.4, 0.8,
                                  0.6, 0.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6])
          def custom_kernel(data):
              return _ANSWER.to(data.device)
      """,
      use_instead="""
          import torch
          _LUT = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0,
                               -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0])
          def custom_kernel(data):
              return _LUT.to(data.device)[data.long()]
      """,
      known_problems="A lookup table indexed by the input (as in FP4 decoding) is not reported, because the "
                     "returned value depends on the input's values.")
def literal_output(sub: Submission) -> Iterator[Hit]:
    for function, ret, origin in _entry_returns(sub, ("literal",)):
        if origin.size >= LITERAL_RETURN_MIN:
            yield Hit(ret, f"`{getattr(function, 'name', '?')}` returns data built from a {origin.size}-number "
                           "literal written into the source.", related=[(origin.node, "literal")])


@rule("HCA003", "Large embedded numeric data", "hard-coding", Verdict.FLAG,
      what=f"Checks for numeric literals with at least {LITERAL_DATA_MIN} numbers, and for binary blobs decoded "
           "with `torch.frombuffer`/`numpy.frombuffer`.",
      why="Precomputed outputs for the public benchmark cases have to be shipped somehow; big literal tables "
          "and decoded byte blobs are the usual carriers.",
      action="Review what the data is; FAIL if it matches reference outputs for the benchmark inputs.",
      example="""
          import torch
          TABLE = [""" + ", ".join(str(i % 7) for i in range(260)) + """]
          def custom_kernel(data):
              return torch.tensor(TABLE[: data.numel()], dtype=data.dtype).view_as(data)
      """,
      use_instead="""
          import torch
          TABLE = [i % 7 for i in range(260)]
          def custom_kernel(data):
              return data.cumsum(0)
      """)
def embedded_data(sub: Submission) -> Iterator[Hit]:
    from referee.submissions.analysis.flow import literal_size

    for node in sub.nodes(ast.List, ast.Tuple):
        if isinstance(sub.parent(node), (ast.List, ast.Tuple)):
            continue
        size = literal_size(node)
        if size >= LITERAL_DATA_MIN:
            yield Hit(node, f"Embeds a literal table of {size} numbers.")
    for call, name in calls(sub, ("torch.frombuffer", "numpy.frombuffer")):
        if call.args and isinstance(sub.folder.fold(call.args[0]), (bytes, str)):
            yield Hit(call, f"Decodes embedded bytes into an array with `{name}`.")


@rule("HCA004", "Seeds a random generator with a constant", "hard-coding", Verdict.FLAG,
      what="Checks for `torch.manual_seed(c)`, `Generator().manual_seed(c)`, `numpy.random.seed(c)`, "
           "`random.seed(c)` and similar calls with a constant seed outside a `__main__` self-test.",
      why="A kernel has no use for a fixed seed; it is how inputs from the public `task.yml` seeds are "
          "reproduced.",
      action="Review by hand; FAIL if the seeded numbers end up in the output (HCA001).",
      known_problems="Seeding inside a helper (a first-call self-test comparing the kernel with torch on random "
                     "data, as agent-written entries do) is not reported; HCA001 follows seeded numbers into "
                     "the output wherever they are drawn.",
      example="""
          import torch
          torch.manual_seed(54352)
          def custom_kernel(data):
              return data.cumsum(0)
      """,
      use_instead="""
          import torch
          def custom_kernel(data):
              return data.cumsum(0)
          if __name__ == "__main__":
              torch.manual_seed(0)
              print(custom_kernel(torch.rand(8)))
      """)
def constant_seed(sub: Submission) -> Iterator[Hit]:
    entries = {e.function for e in sub.flow.entries}
    for call, name in constant_seeds(sub):
        function = sub.function_of(call)
        if function is not None and function not in entries:
            continue  # a seeded self-test in a helper; seeded numbers that reach the output are HCA001's FAIL
        yield Hit(call, f"Seeds `{name}` with a value fixed in the source (`{code(call.args[0])}`).")
