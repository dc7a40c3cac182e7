"""Dynamic code and encoded payloads: code the reader of the file cannot see.

`exec`/`eval`/`compile` of strings, imports with computed names and encoded blobs hide what runs. Static
analysis cannot follow everything, so the act itself is reported, and every payload that decodes to Python
(`analysis.blobs`) is scanned with all rules as well (findings prefixed "In ... blob at line N").
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.analysis.blobs import EXEC_FUNCS
from referee.submissions.analysis.consts import DECODER_NAMES
from referee.submissions.rules._util import calls, code, loop_values
from referee.submissions.rules.registry import Hit, rule

CODE_BUILDERS = frozenset({"types.FunctionType", "types.CodeType", "types.LambdaType", "marshal.loads",
                           "importlib.util.spec_from_loader", "importlib.machinery.SourcelessFileLoader",
                           "pickle.loads", "dill.loads", "cloudpickle.loads"})
SENSITIVE_NAMES = frozenset({
    "elapsed_time", "synchronize", "perf_counter", "perf_counter_ns", "get_objects", "get_referrers", "_getframe",
    "f_locals", "f_back", "f_globals", "check_implementation", "ref_kernel", "generate_input", "allclose",
    "__main__", "modules", "POPCORN_FD", "POPCORN_SEED", "_exit", "system", "Popen", "fdopen", "write", "exec",
    "eval", "compile", "__import__", "ctypes", "pythonapi", "setattr", "__code__", "__globals__", "calculate_stats",
})
IMPORTERS = frozenset({"builtins.__import__", "importlib.import_module", "importlib.__import__"})
OBFUSCATORS = DECODER_NAMES | {"builtins.chr", "builtins.bytes", "builtins.bytearray", "codecs.encode"}


def _obfuscated(sub: Submission, expr: ast.AST, function: ast.AST | None, depth: int = 0) -> ast.AST | None:
    """A decoder, `chr`, reversal or join feeding `expr` (following local names a few steps)."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Call):
            names = sub.resolver.qualnames(node.func)
            if names & OBFUSCATORS:
                return node
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("decode", "join", "translate",
                                                                           "fromhex", "swapcase"):
                return node
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice) and node.slice.step is not None:
            return node
        if isinstance(node, ast.Name) and depth < 3:
            _, bindings = sub.scopes.bindings(node.id, node)
            for binding in bindings:
                if binding.value is not None:
                    found = _obfuscated(sub, binding.value, function, depth + 1)
                    if found is not None:
                        return found
    return None


@rule("DYN001", "Executes dynamically built code", "dynamic-code", Verdict.FLAG,
      what="Checks for `exec`, `eval`, `compile` (the builtins, however aliased), `runpy`, code-object "
           "construction (`types.FunctionType`, `types.CodeType`), and Python source files written at run time.",
      why="Code executed from a string is invisible to a reader and to most scanners; the string is scanned here "
          "when it folds to a constant, but the act itself deserves a look.",
      action="Review the executed text; FAIL if it is obfuscated (DYN002) or does anything another rule fails.",
      example="""
          SRC = "def custom_kernel(data):\\n    return data.clone()\\n"
          exec(SRC)
      """,
      use_instead="""
          import re
          import torch
          PATTERN = re.compile(r"\\d+")
          kernel = torch.compile(lambda x: x.clone())
          def custom_kernel(data):
              return kernel(data)
      """,
      kernelguard=["DYNAMIC_EXECUTION"])
def dynamic_exec(sub: Submission) -> Iterator[Hit]:
    for call, name in calls(sub, EXEC_FUNCS | {"types.FunctionType", "types.CodeType", "types.LambdaType"}):
        yield Hit(call, f"Runs dynamically built code with `{name}`.")
    for call, _ in calls(sub, ("builtins.open", "io.open", "pathlib.Path.write_text")):
        path = sub.folder.fold_str(call.args[0]) if call.args else None
        mode = sub.folder.fold_str(call.args[1]) if len(call.args) > 1 else next(
            (sub.folder.fold_str(k.value) for k in call.keywords if k.arg == "mode"), "r")
        if path and path.endswith(".py") and mode and any(c in mode for c in "wax"):
            yield Hit(call, f"Writes Python source to `{path}` (code generated at run time, to import later).")


@rule("DYN002", "Executes obfuscated or encoded code", "dynamic-code", Verdict.FAIL,
      what="Checks for `exec`/`eval`/`compile` whose argument is decoded or assembled (base64/hex/zlib/codecs "
           "decoders, `chr`, `bytes`, reversal, `join`), and for loading code objects or pickles "
           "(`marshal.loads`, `pickle.loads` of embedded data, `types.CodeType`).",
      why="Honest code has nothing to hide; encoding the code that runs exists only to get past review and "
          "scanners (KernelGuard OBFUSCATED_EXEC is an automatic filter).",
      action="Disqualify the run (FAIL).",
      example="""
          import base64, zlib
          exec(zlib.decompress(base64.b64decode("eJwrKMrMK9FQykjNyclX0gQAJ1oE1w==")))
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          import base64
          CUBIN = base64.b64decode("f0VMRgIBAQAAAAAAAAAAAAIAvgABAAAA")
          def custom_kernel(data):
              return data.clone()
      """,
      known_problems="Marshalled code is never unmarshalled here (marshal is unsafe on hostile bytes); the "
                     "blob fails on its own and the names it contains are listed as evidence.",
      kernelguard=["OBFUSCATED_EXEC"])
def obfuscated_exec(sub: Submission) -> Iterator[Hit]:
    for call, name in calls(sub, EXEC_FUNCS):
        if not call.args:
            continue
        found = _obfuscated(sub, call.args[0], sub.function_of(call))
        if found is not None:
            yield Hit(call, f"`{name}` runs code produced by `{code(found, 40)}`.")
    for call, name in calls(sub, CODE_BUILDERS):
        if name in ("pickle.loads", "dill.loads", "cloudpickle.loads") and not (
                call.args and isinstance(sub.folder.fold(call.args[0]), bytes)):
            continue
        yield Hit(call, f"Builds or loads code objects with `{name}`.")
    for blob in sub.blobs:
        if blob.kind == "marshal":
            names = (blob.text or "").split()
            telling = [n for n in names if n in SENSITIVE_NAMES] or names
            yield Hit(blob.node, f"Carries a marshalled code object ({blob.describe()}); names inside include "
                                 f"{', '.join(telling[:12])}.", detail="all names: " + " ".join(names)[:500])


@rule("DYN003", "Imports with computed names or reloads modules", "dynamic-code", Verdict.FLAG,
      what="Checks for `__import__`/`importlib.import_module` whose module name is not a plain literal (computed "
           "or assembled), and for `importlib.reload`.",
      why="A computed import name hides which module is loaded; reloading a module re-runs it and can replace "
          "objects the harness already holds (KernelGuard MODULE_RELOAD).",
      action="Review by hand.",
      example="""
          import importlib
          mod = importlib.import_module("ti" + "me")
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          import importlib
          triton = importlib.import_module("triton")
          def custom_kernel(data):
              return data.clone()
      """,
      kernelguard=["MODULE_RELOAD"])
def dynamic_import(sub: Submission) -> Iterator[Hit]:
    for call, name in calls(sub, IMPORTERS):
        if not call.args:
            continue
        arg = call.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            continue
        if _probes_library_modules(sub, call, arg):
            continue
        target = sub.folder.fold_str(arg)
        shown = f"`{target}`" if target else f"a computed name (`{code(arg, 40)}`)"
        yield Hit(call, f"Imports {shown} with `{name}`.")
    for call, name in calls(sub, ("importlib.reload", "imp.reload")):
        yield Hit(call, f"Reloads a module with `{name}`.")


# Modules whose import under a spelled-out name hides a harness, timer or introspection use.
HIDDEN_IMPORT_ROOTS = frozenset({"reference", "utils", "eval", "task", "submission", "__main__", "time", "gc", "sys",
                                 "builtins", "ctypes", "inspect", "importlib", "os", "subprocess", "threading",
                                 "signal", "torch", "numpy", "marshal", "types", "runpy", "pickle"})


def _probes_library_modules(sub: Submission, call: ast.Call, arg: ast.AST) -> bool:
    """`for m in ["fused_moe", "moe_mxfp4"]: __import__(f"aiter.ops.triton.{m}")`: a loop over constant
    candidate names of a third-party library's submodules (finding which exist); every name is known and none
    is a harness, timer or introspection module."""
    names = {n.id for n in ast.walk(arg) if isinstance(n, ast.Name)}
    if len(names) != 1:
        return False
    variable = names.pop()
    values = loop_values(sub, call, variable)
    if not values:
        return False
    targets = [sub.folder.fold(arg, env={variable: v}) for v in values]
    return all(isinstance(t, str) and t and t.split(".")[0] not in HIDDEN_IMPORT_ROOTS for t in targets)


@rule("DYN004", "Encoded Python payload", "dynamic-code", Verdict.FLAG,
      what="Checks for string or bytes constants that decode (base64, hex, zlib/gzip/bz2/lzma, in any nesting) to "
           "Python code. The decoded code is also scanned with every rule.",
      why="Shipping code in encoded form hides it from review even when it is not executed in an obvious way "
          "(it may be `exec`'d through a path static analysis cannot follow).",
      action="Review the decoded code (shown in the evidence); FAIL if it is executed.",
      example="""
          PAYLOAD = "aW1wb3J0IHRpbWUKdGltZS5wZXJmX2NvdW50ZXIgPSBsYW1iZGE6IDAuMAo="
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          ICON = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
          def custom_kernel(data):
              return data.clone()
      """,
      kernelguard=["OBFUSCATED_EXEC"])
def encoded_payload(sub: Submission) -> Iterator[Hit]:
    for blob in sub.blobs:
        if blob.kind == "python":
            preview = " ".join((blob.text or "").split())[:160]
            yield Hit(blob.node, f"Decodes to Python code ({blob.describe()}).", detail=f"decoded: {preview}")
