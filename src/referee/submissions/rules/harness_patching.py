"""Timer, checker and harness monkeypatching: the kernel stays honest, the measurement does not.

The harness (`eval.py` as `__main__`) and the submission share one interpreter, so a submission can rebind
what the harness uses to time and check it: `torch.cuda.Event.elapsed_time`, `time.perf_counter`,
`torch.allclose`, `check_implementation`, `builtins.print`, `sys.modules[...]`. Writes are found after alias
and obfuscation resolution (`analysis.writes`), so `E = T.cuda.Event; setattr(E, "elapsed" + "_time", f)` is
the same write as the plain one.
"""

from __future__ import annotations

from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.analysis.writes import Write
from referee.submissions.rules.registry import Hit, rule

TIMER_PREFIXES = ("torch.cuda.Event", "torch.Event", "torch.cuda.Stream", "torch.Stream", "time", "timeit",
                  "torch.utils.benchmark", "triton.testing", "torch.profiler", "torch.autograd.profiler",
                  "torch.cuda.cudart", "torch.cuda.nvtx", "torch.cuda.synchronize", "torch.cuda.current_stream",
                  "torch.cuda.default_stream", "torch.cuda.Event.elapsed_time", "torch.synchronize",
                  "torch.cuda.streams", "torch.xpu.Event", "torch.mps.event")
VALIDATION_NAMES = frozenset({
    "allclose", "isclose", "equal", "eq", "ne", "isnan", "isinf", "isfinite", "isreal", "all", "any", "abs",
    "max", "min", "amax", "amin", "norm", "dist", "count_nonzero", "logical_and", "logical_or", "logical_not",
    "sub", "subtract", "triu", "tril", "householder_product", "nan_to_num", "__eq__", "__ne__", "__sub__",
    "__abs__", "__bool__", "__float__", "__lt__", "__le__", "__gt__", "__ge__", "item", "tolist", "sum", "mean",
    "where", "cpu", "numpy", "to", "float", "double", "clone", "array_equal", "allequal",
})
VALIDATION_PREFIXES = ("torch.testing", "numpy.testing", "torch.linalg.norm", "torch.linalg.vector_norm",
                       "torch.linalg.matrix_norm", "math.isclose")
HARNESS_ROOTS = frozenset({"__main__", "reference", "utils", "eval", "task", "run_eval", "libkernelbot"})
HARNESS_NAMES = frozenset({
    "check_implementation", "calculate_stats", "clear_l2_cache", "clear_l2_cache_large", "time_kernel",
    "_clone_data", "_run_single_benchmark", "_run_single_test", "run_single_benchmark", "run_single_test",
    "run_testing", "run_benchmarking", "verbose_allclose", "match_reference", "make_match_reference",
    "PopcornOutput", "wrap_check_implementation", "Stats", "ref_kernel", "generate_input", "_combine",
})
CODE_ATTRS = frozenset({"__code__", "__defaults__", "__kwdefaults__", "__closure__", "cell_contents", "__func__",
                        "__wrapped__.__code__"})


def _concrete(name: str) -> bool:
    """Targets on modules and classes, not on objects created at run time (`torch.empty().foo`)."""
    return "()" not in name


def _under(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def classify(write: Write) -> tuple[str, str] | None:
    """(rule id, target) for a write that reaches harness-visible state, or None."""
    targets = sorted(t for t in write.targets if _concrete(t))
    for target in targets:
        if target.startswith(("sys.modules[", "sys.meta_path", "sys.path_hooks", "sys.path_importer_cache")):
            return "PAT005", target
    for target in targets:
        if target.startswith("builtins."):
            return "PAT004", target
    for target in targets:
        if ".__globals__[" in target and not _library_internal(target):
            return "PAT006", target
    if (write.attr in CODE_ATTRS or write.attr == "__globals__") and not (
            targets and all(_library_internal(t) for t in targets)):
        return "PAT006", (targets[0] if targets else f"?.{write.attr}")
    for target in targets:
        if _under(target, TIMER_PREFIXES):
            return "PAT001", target
    for target in targets:
        root, leaf = target.split(".")[0], target.rsplit(".", 1)[-1]
        checked = leaf in VALIDATION_NAMES or _under(target, VALIDATION_PREFIXES)
        if root in ("torch", "numpy", "math") and checked and not target.startswith(
                ("torch._dynamo", "torch._inductor", "torch.backends")):
            return "PAT002", target
    for target in targets:
        if target.split(".")[0] in HARNESS_ROOTS:
            return "PAT003", target
    if write.attr in HARNESS_NAMES and write.kind != "dict" and not targets:
        return "PAT003", (targets[0] if targets else f"?.{write.attr}")
    return None


# Modules the harness, its timer or its checker run through; patching the internals of anything else (a kernel
# library such as aiter: `fused_moe_2stages.__globals__["token_num_quant_moe_sort_switch"] = 0`) tunes that
# library for the submission's own calls.
PROTECTED_ROOTS = frozenset({"torch", "numpy", "math", "time", "timeit", "builtins", "sys", "triton", "os", "gc",
                             "inspect", "functools", "operator", "importlib", "types", "ctypes", "?"}) | HARNESS_ROOTS


def _library_internal(target: str) -> bool:
    """A resolved name inside a third-party library the harness does not use."""
    root = target.split(".", 1)[0].split("[", 1)[0]
    return bool(root) and root.isidentifier() and root not in PROTECTED_ROOTS


def _patch_hits(sub: Submission, rule_id: str, message: str) -> Iterator[Hit]:
    for write in sub.writes:
        found = classify(write)
        if found and found[0] == rule_id:
            verb = {"delete": "Deletes", "mock": "Patches", "dict": "Rewrites"}.get(write.kind, "Replaces")
            yield Hit(write.node, f"{verb} `{found[1]}`: {message}", detail=f"write kind: {write.kind}")


PATCH_ACTION = "Disqualify the run (FAIL) and re-measure in a harness whose timer and checker live outside " \
               "the submission's process."


@rule("PAT001", "Timer monkeypatching", "harness-patching", Verdict.FAIL,
      what="Checks for writes to anything the harness times with: `torch.cuda.Event` (and `elapsed_time`, "
           "`record`, `synchronize`), `torch.cuda.synchronize`, streams, `time.*`, `timeit`, "
           "`torch.utils.benchmark`, `triton.testing`, profilers; through aliases, `setattr`, `mock.patch`.",
      why="Patching the clock leaves the kernel honest and the measurement fake: issue #162 on reference-kernels "
          "shows `Event.elapsed_time` patched to report 1/100 of the time on a live leaderboard.",
      action=PATCH_ACTION,
      example="""
          import torch as T
          E = T.cuda.Event
          _orig = E.elapsed_time
          setattr(E, "elapsed" + "_time", lambda s, e: _orig(s, e) / 100)
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          import torch
          def custom_kernel(data):
              start = torch.cuda.Event(enable_timing=True)
              start.record()
              return data.clone()
      """,
      known_problems="Patches made from native code (ctypes, GOT hooks) are reported by NAT002/NAT006, not here.",
      kernelguard=["TIMER_MONKEYPATCH"])
def timer_patch(sub: Submission) -> Iterator[Hit]:
    yield from _patch_hits(sub, "PAT001", "the harness's timing would report what the submission wants.")


@rule("PAT002", "Checker / validation monkeypatching", "harness-patching", Verdict.FAIL,
      what="Checks for writes to the functions a checker compares with: `torch.allclose`, `isclose`, `equal`, "
           "`torch.testing.*`, `Tensor.__eq__`/`__sub__`/`abs`/`max`, `isnan`/`isfinite`, `numpy.allclose`, "
           "`math.isclose`, and the linear-algebra helpers property checkers use (`triu`, `householder_product`).",
      why="A patched comparison makes any output pass the correctness check (KernelGuard "
          "TORCH_VALIDATION_MONKEYPATCH, e.g. `torch.triu` patched to fool the QR checker).",
      action=PATCH_ACTION,
      example="""
          import torch
          torch.allclose = lambda *a, **k: True
          def custom_kernel(data):
              return torch.zeros_like(data)
      """,
      use_instead="""
          import torch
          def custom_kernel(data):
              out = data.cumsum(0)
              assert torch.allclose(out[-1], data.sum(0), atol=1e-3)
              return out
      """,
      kernelguard=["TORCH_VALIDATION_MONKEYPATCH"])
def validation_patch(sub: Submission) -> Iterator[Hit]:
    yield from _patch_hits(sub, "PAT002", "the correctness check would compare with a function the submission "
                                          "controls.")


@rule("PAT003", "Harness state patching", "harness-patching", Verdict.FAIL,
      what="Checks for writes to the harness's modules (`__main__`, `reference`, `utils`, `eval`, reached by "
           "`import`, `sys.modules[...]` or `getattr`) and to any attribute named like a harness function "
           "(`check_implementation`, `calculate_stats`, `clear_l2_cache`, `_clone_data`, `time_kernel`, ...).",
      why="`eval.py` runs as `__main__` in the same process; replacing its checker or statistics turns a wrong "
          "or slow kernel into a pass with a tiny time (KernelGuard HARNESS_RUNTIME_PATCHING, EVALUATOR_EXPLOIT).",
      action=PATCH_ACTION,
      example="""
          import sys
          _main = sys.modules["__main__"]
          _main.check_implementation = lambda data, out: (True, "")
          def custom_kernel(data):
              return data
      """,
      use_instead="""
          import sys
          def custom_kernel(data):
              print("running", file=sys.stderr)
              return data.clone()
      """,
      kernelguard=["HARNESS_RUNTIME_PATCHING", "EVALUATOR_EXPLOIT"])
def harness_patch(sub: Submission) -> Iterator[Hit]:
    yield from _patch_hits(sub, "PAT003", "the harness would run code the submission controls.")


@rule("PAT004", "Builtins patching", "harness-patching", Verdict.FAIL,
      what="Checks for writes to `builtins` (`builtins.print = ...`, `__builtins__['open'] = ...`, "
           "`setattr(builtins, ...)`).",
      why="Every module, the harness included, looks names up in `builtins` last; replacing `print`, `open`, "
          "`isinstance` or `len` changes what the harness does and reports (KernelGuard FAKE_BENCHMARK_EMIT "
          "patches `print`).",
      action=PATCH_ACTION,
      example="""
          import builtins
          _print = builtins.print
          builtins.print = lambda *a, **k: _print("benchmark.0.mean: 1.0")
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          def custom_kernel(data):
              print("shape", data.shape)
              return data.clone()
      """,
      kernelguard=["FAKE_BENCHMARK_EMIT", "MODULE_MUTATION"])
def builtins_patch(sub: Submission) -> Iterator[Hit]:
    yield from _patch_hits(sub, "PAT004", "every module, the harness included, would see the replacement.")


@rule("PAT005", "sys.modules / import system tampering", "harness-patching", Verdict.FAIL,
      what="Checks for writes to `sys.modules` (assignment, `update`, `setdefault`, `pop`, `del`) and for "
           "import hooks added to `sys.meta_path` or `sys.path_hooks`.",
      why="Replacing a module in `sys.modules` (for example a fake `time` or `torch`) changes what every later "
          "import in the harness receives (KernelGuard SYS_MODULES_ACCESS, MODULE_MUTATION; pygpubench "
          "`replace_torch`).",
      action=PATCH_ACTION,
      example="""
          import sys, types
          fake = types.ModuleType("time")
          fake.perf_counter = lambda: 0.0
          sys.modules["time"] = fake
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          import sys
          HAVE_TRITON = "triton" in sys.modules
          def custom_kernel(data):
              return data.clone()
      """,
      kernelguard=["SYS_MODULES_ACCESS", "MODULE_MUTATION"])
def sys_modules_patch(sub: Submission) -> Iterator[Hit]:
    yield from _patch_hits(sub, "PAT005", "later imports, the harness's included, would get what the submission "
                                          "put there.")


@rule("PAT006", "Code object / globals replacement", "harness-patching", Verdict.FAIL,
      what="Checks for writes to function internals: `__code__`, `__defaults__`, `__kwdefaults__`, "
           "`__closure__`/`cell_contents`, `__func__`, and `f.__globals__[...]`.",
      why="Swapping a function's code object or globals rewrites what the function does in place, even for "
          "references the harness already holds (KernelGuard CODE_REPLACEMENT, GLOBALS_MUTATION).",
      action=PATCH_ACTION,
      example="""
          import torch
          def _fast(*args, **kwargs):
              return True
          torch.testing.assert_close.__code__ = _fast.__code__
          def custom_kernel(data):
              return data
      """,
      use_instead="""
          import functools
          def _impl(data):
              return data.clone()
          custom_kernel = functools.wraps(_impl)(lambda data: _impl(data))
      """,
      known_problems="Internals of third-party kernel libraries the harness does not use (aiter, a CuTe DSL "
                     "helper) are not reported: tuning a library's switches changes only the submission's calls.",
      kernelguard=["CODE_REPLACEMENT", "GLOBALS_MUTATION"])
def code_patch(sub: Submission) -> Iterator[Hit]:
    yield from _patch_hits(sub, "PAT006", "the function's behaviour changes for every caller, including the "
                                          "harness.")
