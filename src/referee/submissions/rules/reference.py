"""Returning or calling the reference: the submission uses the task's own answer instead of computing one."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.rules._util import calls, code, references
from referee.submissions.rules.registry import Hit, rule

REFERENCE_MODULES = frozenset({"reference", "utils"})
HARNESS_MODULES = ("reference", "utils", "eval", "__main__", "task", "submission_harness")
HARNESS_FUNCS = ("ref_kernel", "generate_input", "check_implementation")
HARNESS_QUALNAMES = frozenset(f"{m}.{f}" for m in HARNESS_MODULES for f in HARNESS_FUNCS)
BROAD_EXCEPTIONS = frozenset({"builtins.Exception", "builtins.BaseException", "builtins.RuntimeError"})


TYPE_SUFFIXES = ("Config", "Context", "TF32", "Spec", "Type", "Cache", "_t")


def _type_name(name: str) -> bool:
    """Task types and context managers (`MoEConfig`, `DisableCuDNNTF32`, `KVCache`, `input_t`): real entries
    import them to describe their inputs; they compute no answer."""
    return name != "*" and name.endswith(TYPE_SUFFIXES) and (name[0].isupper() or name.endswith("_t"))


def _module_root(name: str | None) -> str:
    return (name or "").lstrip(".").split(".")[0]


CHECKER_FACTORIES = frozenset({"make_match_reference"})


def _used_names(sub: Submission) -> set[str]:
    """Names read anywhere, except a checker factory that only wraps the file's own function
    (`check_implementation = make_match_reference(custom_kernel, rtol=1e-3)`): entries that carry a local copy
    of the task's test scaffolding build a checker around their own kernel, which reads no reference answer."""
    own = {n.name for n in sub.tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    used: set[str] = set()
    for node in sub.nodes(ast.Name):
        if not isinstance(node.ctx, ast.Load):
            continue
        if node.id in CHECKER_FACTORIES:
            call = sub.parent(node)
            if isinstance(call, ast.Call) and call.func is node and call.args and isinstance(
                    call.args[0], ast.Name) and call.args[0].id in own:
                continue
        used.add(node.id)
    return used


@rule("REF001", "Imports the task's reference module", "reference", Verdict.FLAG,
      what="Checks for imports of the task's `reference` or harness `utils` module (`import reference`, "
           "`from reference import ...`, relative imports, `__import__`/`importlib` with a constant name).",
      why="A kernel has no reason to load the reference implementation; importing it is the first step to "
          "returning its answer or regenerating the benchmark inputs from the public seeds.",
      action="Review which reference names are used; FAIL if the reference computes the output (see REF002).",
      example="""
          import reference
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          from task import input_t, output_t
          def custom_kernel(data: input_t) -> output_t:
              return data.clone()
      """,
      known_problems="`task` (type aliases only) is allowed, and so are `from reference/utils import` lines "
                     "that bring in only task types and context managers (`MoEConfig`, `KVCache`, "
                     "`DisableCuDNNTF32`) or names never used (the official templates' `from utils import "
                     "make_match_reference`) or used only to wrap the file's own kernel in a checker. "
                     "Self-tests under `if __name__ == \"__main__\":` are ignored because they never run under "
                     "the harness.",
      kernelguard=["TRUSTED_MODULE_IMPORT"])
def reference_import(sub: Submission) -> Iterator[Hit]:
    for node in sub.nodes(ast.Import):
        for alias in node.names:
            if _module_root(alias.name) in REFERENCE_MODULES:
                yield Hit(node, f"Imports the harness module `{alias.name}`.")
    used: set[str] | None = None
    for node in sub.nodes(ast.ImportFrom):
        if _module_root(node.module) not in REFERENCE_MODULES:
            continue
        if used is None:
            used = _used_names(sub)
        if any(
                not _type_name(a.name) and (a.name == "*" or a.name in HARNESS_FUNCS or (a.asname or a.name) in used)
                for a in node.names):
            yield Hit(node, f"Imports from the harness module `{node.module}`.")
    for call, _ in calls(sub, ("builtins.__import__", "importlib.import_module", "importlib.__import__")):
        name = sub.folder.fold_str(call.args[0]) if call.args else None
        if name and _module_root(name) in REFERENCE_MODULES:
            yield Hit(call, f"Imports the harness module `{name}` dynamically.")


@rule("REF002", "Calls the reference implementation or input generator", "reference", Verdict.FAIL,
      what="Checks for uses of the task's `ref_kernel`, `generate_input` or `check_implementation`, however "
           "they are reached (from-imports, aliases, `sys.modules[...]`, `getattr`).",
      why="Returning `ref_kernel(data)` hands the harness its own answer; calling `generate_input` with the "
          "public seeds precomputes the benchmark data; calling the checker lets the code test candidate answers "
          "(KernelGuard REFERENCE_PRECOMPUTE_REPLAY).",
      action="Disqualify the run (FAIL): the output is not the submission's own computation.",
      example="""
          from reference import ref_kernel
          def custom_kernel(data):
              return ref_kernel(data)
      """,
      use_instead="""
          def ref_kernel_like(data):
              return data.cumsum(0)
          def custom_kernel(data):
              return ref_kernel_like(data)
      """,
      kernelguard=["REFERENCE_PRECOMPUTE_REPLAY"])
def reference_call(sub: Submission) -> Iterator[Hit]:
    for node, name in references(sub, HARNESS_QUALNAMES):
        yield Hit(node, f"Uses the harness function `{name}` (`{code(node)}`).")


@rule("REF003", "Silent fallback to a PyTorch op", "reference", Verdict.FLAG,
      what="Checks for `try: <custom kernel> except Exception: return torch.<op>(...)` patterns, where a broad "
           "exception handler returns a plain PyTorch computation.",
      why="If the custom kernel fails (or is made to fail) the leaderboard times the PyTorch library op instead "
          "of the submission, and the result still passes (KernelGuard SILENT_FALLBACK).",
      action="Review by hand: confirm the custom path runs on the benchmark shapes; ask for the fallback to be "
             "removed or to raise.",
      example="""
          import torch
          def custom_kernel(data):
              a, b = data
              try:
                  return my_triton_matmul(a, b)
              except Exception:
                  return torch.matmul(a, b)
      """,
      use_instead="""
          import torch
          def custom_kernel(data):
              a, b = data
              try:
                  return my_triton_matmul(a, b)
              except Exception as exc:
                  raise RuntimeError("kernel failed") from exc
      """)
def silent_fallback(sub: Submission) -> Iterator[Hit]:
    for handler in sub.nodes(ast.ExceptHandler):
        caught = handler.type
        names = sub.resolver.qualnames(caught) if caught is not None else frozenset({"builtins.BaseException"})
        if isinstance(caught, ast.Tuple):
            for element in caught.elts:
                names = names | sub.resolver.qualnames(element)
        if not names & BROAD_EXCEPTIONS:
            continue
        for stmt in ast.walk(ast.Module(body=handler.body, type_ignores=[])):
            if isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Call):
                targets = sub.resolver.qualnames(stmt.value.func)
                torch_op = next((t for t in sorted(targets) if t.startswith("torch.") and not t.endswith("()")),
                                None)
                if torch_op:
                    yield Hit(stmt, f"A broad `except` returns `{torch_op}(...)`: if the custom kernel fails, the "
                                    "library op is timed instead.")
