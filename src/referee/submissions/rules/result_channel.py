"""Result-channel forgery: writing the harness's result lines or ending the process before it can judge.

kernelbot's harness reports through a pipe (`POPCORN_FD`) in `key: value` lines (`check: pass`,
`benchmark.0.mean: ...`); a submission that writes those lines itself, or exits early, forges the result
(kernelbot `cheat-fd.py`; pygpubench `fd_overwrite`, `pipe_interpose`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.rules._util import calls
from referee.submissions.rules.registry import Hit, rule

FD_FUNCS = frozenset({"os.write", "os.fdopen", "os.dup", "os.dup2", "os.dup3", "os.pipe", "os.openpty",
                      "os.set_inheritable", "os.close", "os.closerange", "os.writev", "os.pwrite", "os.sendfile",
                      "io.FileIO", "socket.fromfd", "fcntl.fcntl"})
RESULT_LINE = re.compile(
    r"(^|\n)\s*(check\s*:\s*(pass|fail)|benchmark\.\d+\.(mean|std|err|best|worst|runs|spec)|benchmark-count\s*:"
    r"|test\.\d+\.(status|spec|message)|test-count\s*:)|Ranked Benchmark|POPCORN_FD|/proc/self/fd",
    re.IGNORECASE)
EXITS = frozenset({"os._exit", "os.abort", "os.kill", "os.killpg", "signal.raise_signal", "signal.pthread_kill",
                   "signal.alarm", "signal.setitimer", "os.execv", "os.execl", "os.execve", "os.execvp"})
SOFT_EXITS = frozenset({"sys.exit", "builtins.exit", "builtins.quit", "atexit.register", "signal.signal",
                        "faulthandler.register"})
STDIO = frozenset({"sys.stdout", "sys.stderr", "sys.__stdout__", "sys.__stderr__", "sys.stdin"})
STD_REDIRECTS = frozenset({"os.dup", "os.dup2", "os.dup3", "os.close", "os.write", "os.fdopen"})


def _standard_fds_only(sub: Submission, call: ast.Call) -> bool:
    """Every descriptor argument is stdin/stdout/stderr (0-2), `sys.std*.fileno()`, or a descriptor opened on
    `os.devnull`: silencing a compiler's output, not touching the harness's pipe."""
    fd_args = [a for a in call.args if not (isinstance(a, ast.Constant) and isinstance(a.value, (bytes, str)))]
    if not fd_args:
        return False
    return all(_standard_fd(sub, a, 0) for a in fd_args[:2])


def _standard_fd(sub: Submission, arg: ast.AST, depth: int) -> bool:
    value = sub.folder.fold_int(arg)
    if value is not None:
        return value in (0, 1, 2)
    if isinstance(arg, ast.Call):
        func = arg.func
        if isinstance(func, ast.Attribute) and func.attr == "fileno":
            return bool(sub.resolver.qualnames(func.value) & STDIO)
        names = sub.resolver.qualnames(func)
        if names & {"os.open", "os.dup"} and arg.args:
            return "os.devnull" in sub.resolver.qualnames(arg.args[0]) or _standard_fd(sub, arg.args[0], depth + 1)
    if isinstance(arg, ast.Name) and depth < 3:
        _, bindings = sub.scopes.bindings(arg.id, arg)
        values = [b.value for b in bindings if b.value is not None]
        return bool(values) and len(values) == len(bindings) and all(_standard_fd(sub, v, depth + 1) for v in values)
    return False


@rule("CHN001", "Raw file-descriptor access", "result-channel", Verdict.FAIL,
      what="Checks for raw descriptor operations on anything but the standard streams: `os.write`, `os.fdopen`, "
           "`os.dup`/`dup2`, `os.close`, `os.set_inheritable`, `io.FileIO(fd)`, `open(<int>)`, and paths under "
           "`/proc/self/fd`.",
      why="The harness's results pipe is a file descriptor in the same process; writing to it, duplicating over "
          "it or closing it forges or suppresses the verdict (kernelbot `cheat-fd.py`).",
      action="Disqualify the run (FAIL).",
      example="""
          import os
          def custom_kernel(data):
              os.write(3, b"check: pass\\n")
              return data
      """,
      use_instead="""
          import sys
          def custom_kernel(data):
              sys.stderr.write("debug\\n")
              return data.clone()
      """)
def fd_access(sub: Submission) -> Iterator[Hit]:
    for call, name in calls(sub, FD_FUNCS):
        if name in STD_REDIRECTS and _standard_fds_only(sub, call):
            continue  # CHN005 reports redirections of the standard streams
        yield Hit(call, f"Calls `{name}`, which works on raw file descriptors (the harness reports through one).")
    for call, _ in calls(sub, ("builtins.open", "io.open")):
        if call.args and sub.folder.fold_int(call.args[0]) is not None:
            yield Hit(call, f"Opens file descriptor {sub.folder.fold_int(call.args[0])} directly.")
    for node, text in sub.strings:
        if "/proc/self/fd" in text or "/dev/fd/" in text:
            yield Hit(node, "Refers to the process's open descriptors (`/proc/self/fd`).")


@rule("CHN002", "Emits harness result lines", "result-channel", Verdict.FAIL,
      what="Checks for strings shaped like the harness's result protocol (`check: pass`, `benchmark.0.mean: ...`, "
           "`test.0.status`, `Ranked Benchmark`, `POPCORN_FD`), after constant folding.",
      why="A kernel has no reason to produce the harness's own report lines; printing them forges results "
          "wherever stdout is parsed (KernelGuard FAKE_BENCHMARK_EMIT).",
      action="Disqualify the run (FAIL).",
      example="""
          def custom_kernel(data):
              print("benchmark.0.mean: " + "1.0")
              return data
      """,
      use_instead="""
          def custom_kernel(data):
              print("benchmark shape", tuple(data.shape))
              return data.clone()
      """,
      kernelguard=["FAKE_BENCHMARK_EMIT"])
def result_lines(sub: Submission) -> Iterator[Hit]:
    for node, text in sub.strings:
        match = RESULT_LINE.search(text)
        if match and "/proc/self/fd" not in match.group(0):
            yield Hit(node, f"Contains the harness result text `{match.group(0).strip()}`.")


@rule("CHN003", "Hard process exit or signal", "result-channel", Verdict.FAIL,
      what="Checks for `os._exit`, `os.abort`, `os.kill`/`killpg`, `signal.raise_signal`/`alarm`/`setitimer` and "
           "`os.exec*`.",
      why="Ending or replacing the process skips the harness's remaining checks and `atexit` handlers; combined "
          "with a forged result line it reports success for code that never ran the tests.",
      action="Disqualify the run (FAIL).",
      example="""
          import os
          def custom_kernel(data):
              print("check: pass")
              os._exit(0)
      """,
      use_instead="""
          def custom_kernel(data):
              if data.numel() == 0:
                  raise ValueError("empty input")
              return data.clone()
      """)
def hard_exit(sub: Submission) -> Iterator[Hit]:
    for call, name in calls(sub, EXITS):
        yield Hit(call, f"Calls `{name}`, which ends or hijacks the process before the harness finishes.")


@rule("CHN004", "Exit hooks or early exit", "result-channel", Verdict.FLAG,
      what="Checks for `sys.exit`, `exit()`, `quit()`, `raise SystemExit`, `atexit.register` and signal "
           "handlers installed outside a `__main__` self-test.",
      why="Exiting early or running code at interpreter exit lets a submission act after the harness believes it "
          "is done (overwrite results, print a verdict).",
      action="Review by hand.",
      example="""
          import atexit
          atexit.register(lambda: print("all tests passed"))
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          import sys
          def custom_kernel(data):
              return data.clone()
          if __name__ == "__main__":
              sys.exit(0)
      """,
      known_problems="A module-level `sys.exit(1)` (a non-zero status or a message) is not reported: it ends "
                     "the import, so the run fails before anything is checked or timed.")
def soft_exit(sub: Submission) -> Iterator[Hit]:
    for call, name in calls(sub, SOFT_EXITS):
        if not _fails_import(sub, call, name):
            yield Hit(call, f"Calls `{name}`.")
    for node in sub.nodes(ast.Raise):
        if node.exc is not None and sub.resolver.qualnames(
                node.exc.func if isinstance(node.exc, ast.Call) else node.exc) & {"builtins.SystemExit"}:
            yield Hit(node, "Raises `SystemExit`.")


def _fails_import(sub: Submission, call: ast.Call, name: str) -> bool:
    """`except Exception: print(...); sys.exit(1)` at module level: a failed kernel build ends the import with a
    non-zero status, so the run fails before the harness checks or times anything; nothing can act after it."""
    if name not in ("sys.exit", "builtins.exit", "builtins.quit") or sub.function_of(call) is not None or \
            len(call.args) != 1:
        return False
    status = sub.folder.fold(call.args[0])
    return (isinstance(status, int) and not isinstance(status, bool) and status != 0) or isinstance(status, str)


@rule("CHN005", "Redirects standard output or error", "result-channel", Verdict.FLAG,
      what="Checks for assignments to `sys.stdout`/`sys.stderr`, `contextlib.redirect_stdout/stderr`, and "
           "descriptor-level redirection of the standard streams (`os.dup2(devnull, 2)`, `os.write(1, ...)`).",
      why="The harness and the leaderboard read the process's output; swapping the streams can hide errors or "
          "inject lines (KernelGuard STDIO_REDIRECT).",
      action="Review by hand.",
      example="""
          import io, sys
          sys.stdout = io.StringIO()
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          import sys
          def custom_kernel(data):
              print("shape", data.shape, file=sys.stderr)
              sys.stdout.flush()
              return data.clone()
      """,
      kernelguard=["STDIO_REDIRECT"])
def stdio_redirect(sub: Submission) -> Iterator[Hit]:
    for call, name in calls(sub, STD_REDIRECTS):
        if _standard_fds_only(sub, call):
            yield Hit(call, f"Calls `{name}` on a standard stream's descriptor.")
    for write in sub.writes:
        if write.targets & STDIO and not _fills_missing_stream(sub, write.node):
            yield Hit(write.node, f"Replaces `{sorted(write.targets & STDIO)[0]}`.")
    for call, name in calls(sub, ("contextlib.redirect_stdout", "contextlib.redirect_stderr")):
        yield Hit(call, f"Uses `{name}`.")


def _fills_missing_stream(sub: Submission, node: ast.AST) -> bool:
    """`if sys.stdout is None: sys.stdout = open(os.devnull, "w")`: spawned workers have no stdout, and the
    guard only ever replaces a stream that does not exist, never the harness's own."""
    for ancestor in sub.ancestors(node):
        if isinstance(ancestor, ast.If):
            test = ancestor.test
            return isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Is) and \
                isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None and \
                isinstance(test.left, ast.Attribute) and test.left.attr in ("stdout", "stderr")
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
            return False
    return False
