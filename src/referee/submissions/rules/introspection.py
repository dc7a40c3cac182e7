"""Reaching harness state: walking the garbage collector, the call stack or the harness module.

The harness keeps the expected outputs, a pristine copy of the inputs and the timing list in its own frames
and objects. A submission can find them with `gc.get_objects()`, read them through `sys._getframe(1).f_locals`,
or look at `__main__`; pygpubench's `gc_nan`/`gc_copy` exploits and KernelGuard's FRAME_WALK rules are this
family.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.rules._util import attribute_uses, calls, references
from referee.submissions.rules.registry import Hit, rule

GC_WALKERS = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents", "gc.garbage"})
FRAME_ATTRS = frozenset({"f_back", "f_locals", "f_globals", "f_builtins", "tb_frame", "gi_frame", "cr_frame",
                         "ag_frame", "f_trace"})
STACK_FUNCS = frozenset({"sys._getframe", "sys._current_frames", "inspect.currentframe", "inspect.stack",
                         "inspect.getouterframes", "inspect.getinnerframes", "inspect.trace", "traceback.walk_stack",
                         "traceback.extract_stack", "traceback.walk_tb", "sys.exc_info", "sys._getframemodulename",
                         "sys.settrace", "sys.setprofile", "threading.settrace", "sys.monitoring.register_callback"})
HARNESS_MODULES = frozenset({"__main__", "eval", "run_eval"})
INTERNAL_ATTRS = frozenset({"__globals__", "__closure__", "cell_contents", "__code__", "co_consts", "co_names",
                            "f_code", "__self__", "__func__", "__subclasses__", "__bases__", "__mro__"})


@rule("INT001", "Garbage-collector walk", "introspection", Verdict.FAIL,
      what="Checks for `gc.get_objects()`, `gc.get_referrers()`, `gc.get_referents()` and `gc.garbage`, "
           "however they are reached.",
      why="Walking every live object is how a submission finds the harness's expected outputs or input copies "
          "to read the answer from or to poison with NaN (pygpubench `gc_nan`/`gc_copy`: a no-op kernel passed "
          "with 0 errors in 3.3 µs).",
      action="Disqualify the run (FAIL); re-check with the expected output held outside the process.",
      example="""
          import gc, torch
          def custom_kernel(data):
              for obj in gc.get_objects():
                  if isinstance(obj, torch.Tensor) and obj.shape == data.shape and obj is not data:
                      return obj.clone()
              return data
      """,
      use_instead="""
          import gc
          def custom_kernel(data):
              gc.collect()
              return data.clone()
      """)
def gc_walk(sub: Submission) -> Iterator[Hit]:
    for node, name in references(sub, GC_WALKERS):
        yield Hit(node, f"Uses `{name}`, which exposes every live object, the harness's expected outputs "
                        "included.")


@rule("INT002", "Frame walking into the caller", "introspection", Verdict.FAIL,
      what="Checks for frame attributes that reach other functions' state: `f_back`, `f_locals`, `f_globals`, "
           "`tb_frame`, `gi_frame`, `cr_frame` (also through `getattr`).",
      why="`sys._getframe(1).f_locals` is the harness's `_run_single_benchmark` frame: its `check_copy`, its "
          "timings and its results are one dictionary away (KernelGuard FRAME_WALK_ACCESS/MUTATION).",
      action="Disqualify the run (FAIL).",
      example="""
          import sys
          def custom_kernel(data):
              caller = sys._getframe(1)
              expected = caller.f_locals.get("check_copy")
              return data.clone()
      """,
      use_instead="""
          import logging
          log = logging.getLogger(__name__)
          def custom_kernel(data):
              log.debug("called with %s", tuple(data.shape))
              return data.clone()
      """,
      kernelguard=["FRAME_WALK_ACCESS", "FRAME_WALK_MUTATION"])
def frame_walk(sub: Submission) -> Iterator[Hit]:
    for node, attr in attribute_uses(sub, FRAME_ATTRS):
        yield Hit(node, f"Reads frame attribute `{attr}`, which reaches another function's variables.")


@rule("INT003", "Stack inspection or tracing", "introspection", Verdict.FLAG,
      what="Checks for `sys._getframe`, `inspect.currentframe/stack/getouterframes`, `traceback.walk_stack`, "
           "`sys.settrace`/`setprofile` and `sys.monitoring` callbacks.",
      why="A kernel does not need to know who called it; stack inspection and tracing hooks are the start of "
          "reading or steering the harness.",
      action="Review by hand; FAIL if frames are used to read or change harness state (see INT002).",
      example="""
          import inspect
          def custom_kernel(data):
              mode = inspect.stack()[2].function
              return data.clone() if mode == "_run_single_test" else data
      """,
      use_instead="""
          import inspect
          def custom_kernel(data):
              return data.clone()
          SIGNATURE = inspect.signature(custom_kernel)
      """)
def stack_inspection(sub: Submission) -> Iterator[Hit]:
    for node, name in references(sub, STACK_FUNCS):
        yield Hit(node, f"Uses `{name}` to look at the call stack or trace execution.")


@rule("INT004", "Reads the harness module", "introspection", Verdict.FLAG,
      what="Checks for access to the harness's own module: `import __main__`, `sys.modules['__main__']`, "
           "`import eval`, attribute reads on them.",
      why="`eval.py` runs as `__main__`; reading it gives the submission the mode, the tests, the seeds and "
          "the functions it could patch next.",
      action="Review by hand; FAIL if harness state influences the output or is modified (PAT003).",
      example="""
          import __main__
          def custom_kernel(data):
              if "benchmark" in getattr(__main__, "__file__", ""):
                  return data
              return data.clone()
      """,
      use_instead="""
          def custom_kernel(data):
              return data.clone()
          if __name__ == "__main__":
              print(custom_kernel)
      """,
      kernelguard=["SYS_MODULES_ACCESS", "GLOBALS_ACCESS"])
def harness_read(sub: Submission) -> Iterator[Hit]:
    for node in sub.nodes(ast.Import):
        for alias in node.names:
            if alias.name in HARNESS_MODULES:
                yield Hit(node, f"Imports the harness module `{alias.name}`.")
    for node in sub.nodes(ast.ImportFrom):
        if (node.module or "") in HARNESS_MODULES:
            yield Hit(node, f"Imports from the harness module `{node.module}`.")
    for node, name in references(sub, HARNESS_MODULES, HARNESS_MODULES):
        if isinstance(node, (ast.Call, ast.Subscript)):
            yield Hit(node, f"Reaches the harness module through `{name}`.")


@rule("INT005", "Function internals access", "introspection", Verdict.FLAG,
      what="Checks for reads of function and class internals: `__globals__`, `__closure__`, `cell_contents`, "
           "`__code__`, `co_consts`, `__self__`, `__func__`, `__subclasses__`, `__mro__`.",
      why="These reach objects a function closes over or a module holds without importing them: a way into "
          "the harness's checker or into torch's internals (KernelGuard CODE_ACCESS, GLOBALS_ACCESS).",
      action="Review by hand.",
      example="""
          import torch
          def custom_kernel(data):
              g = torch.allclose.__self__
              return data.clone()
      """,
      use_instead="""
          def custom_kernel(data):
              name = custom_kernel.__name__
              return data.clone()
      """,
      kernelguard=["CODE_ACCESS", "GLOBALS_ACCESS"])
def internals(sub: Submission) -> Iterator[Hit]:
    for node, attr in attribute_uses(sub, INTERNAL_ATTRS):
        if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            continue  # writes are PAT006
        yield Hit(node, f"Reads `{attr}`, which reaches objects the code does not import.")


@rule("INT006", "Stack walk through exceptions or threads", "introspection", Verdict.FLAG,
      what="Checks for `sys.exc_info()[2]` / `__traceback__` traversal and `threading.enumerate()` / "
           "`sys._current_frames()`, other routes to foreign frames.",
      why="Raising and catching an exception, or listing threads, yields frames of the caller without "
          "`sys._getframe`.",
      action="Review by hand.",
      example="""
          def custom_kernel(data):
              try:
                  raise RuntimeError
              except RuntimeError as exc:
                  tb = exc.__traceback__
              return data.clone()
      """,
      use_instead="""
          def custom_kernel(data):
              try:
                  return data.clone()
              except RuntimeError as exc:
                  raise ValueError("bad input") from exc
      """)
def exception_walk(sub: Submission) -> Iterator[Hit]:
    for node, attr in attribute_uses(sub, ("__traceback__", "tb_next")):
        yield Hit(node, f"Reads `{attr}`, a route to the frames of callers.")
    for call, name in calls(sub, ("threading.enumerate", "sys._current_frames", "threading._active")):
        yield Hit(call, f"Calls `{name}`, which reaches other threads' frames.")
