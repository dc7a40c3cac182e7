"""Mode, environment and call-count sniffing: behaving differently when it counts.

The harness runs `eval.py test|benchmark|leaderboard`, sets `POPCORN_*` variables, and calls the kernel a known
number of times (correctness first, then warm-up, then timed calls). A submission that reads any of these can
be correct when checked and fast when timed (KernelGuard EVALUATOR_MODE_BRANCH).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.rules._util import calls, in_condition, references
from referee.submissions.rules.registry import Hit, rule

SENSITIVE_TOKENS = frozenset({"SEED", "MODE", "LEADERBOARD", "BENCH", "BENCHMARK", "RANKED", "EVAL", "GRADER",
                              "SUBMISSION", "TIMING", "SECRET", "JUDGE", "HARNESS", "SCORE"})
LIBRARY_PREFIXES = frozenset({"TORCH", "TORCHINDUCTOR", "PYTORCH", "TRITON", "CUDA", "CUBLAS", "CUDNN", "NCCL", "OMP",
                              "MKL", "KMP", "XLA", "HF", "TF", "NVIDIA", "NV", "HIP", "ROCM", "PYTHON", "JAX"})


def sensitive_env(key: str) -> bool:
    """`POPCORN_*`, `PYTEST_CURRENT_TEST`, or a name with a run-revealing word (`EVAL_MODE`, `RANDOM_SEED`) that is
    not a known library's own setting (`TORCH_COMPILE_MODE`, `CUDA_LAUNCH_BLOCKING`)."""
    upper = key.upper()
    if upper.startswith("POPCORN") or upper == "PYTEST_CURRENT_TEST":
        return True
    tokens = [t for t in re.split(r"[^A-Z0-9]+", upper) if t]
    return bool(tokens) and tokens[0] not in LIBRARY_PREFIXES and bool(set(tokens) & SENSITIVE_TOKENS)
ENV_READERS = frozenset({"os.getenv", "os.environ.get", "os.environ.__getitem__", "os.environ.setdefault",
                         "os.environ.pop", "os.getenvb", "os.environb.get"})
ENV_SCANS = frozenset({"os.environ.items", "os.environ.keys", "os.environ.values", "os.environ.copy",
                       "builtins.dict", "builtins.list", "builtins.sorted", "builtins.iter"})
ARGV = frozenset({"sys.argv", "sys.orig_argv"})
SLEEPS = frozenset({"time.sleep", "asyncio.sleep", "torch.cuda._sleep", "threading.Event.wait"})


@rule("SNF001", "Branches on the harness command line", "sniffing", Verdict.FAIL,
      what="Checks for `sys.argv` / `sys.orig_argv` (or `/proc/self/cmdline`) used in a condition or comparison "
           "outside a `__main__` self-test.",
      why="The harness's mode is its first argument (`test`, `benchmark`, `leaderboard`); a kernel that branches "
          "on it can be correct when tested and do something else when ranked (KernelGuard "
          "EVALUATOR_MODE_BRANCH).",
      action="Disqualify the run (FAIL); re-run under every mode label and compare outputs.",
      example="""
          import sys
          def custom_kernel(data):
              if "leaderboard" in sys.argv:
                  return data
              return data.clone()
      """,
      use_instead="""
          import sys
          def custom_kernel(data):
              return data.clone()
          if __name__ == "__main__":
              if len(sys.argv) > 1:
                  print(sys.argv[1])
      """,
      kernelguard=["EVALUATOR_MODE_BRANCH"])
def argv_branch(sub: Submission) -> Iterator[Hit]:
    for node, name in references(sub, ARGV):
        if in_condition(sub, node) or _flows_into_condition(sub, node):
            yield Hit(node, f"Branches on `{name}`, the harness's command line (its mode).")
    for node, text in sub.strings:
        if "/proc/self/cmdline" in text or "/proc/self/environ" in text:
            yield Hit(node, "Reads the process command line or environment from `/proc/self`.")


def _flows_into_condition(sub: Submission, node: ast.AST) -> bool:
    """`mode = sys.argv[1]` then `if mode == ...`: the assigned name is used in a condition."""
    stmt = next((a for a in sub.ancestors(node) if isinstance(a, ast.stmt)), None)
    if not isinstance(stmt, ast.Assign):
        return False
    names = {t.id for t in stmt.targets if isinstance(t, ast.Name)}
    return any(isinstance(n, ast.Name) and n.id in names and isinstance(n.ctx, ast.Load) and in_condition(sub, n)
               for n in sub.nodes(ast.Name))


def _env_key(sub: Submission, node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and node.args:
        return sub.folder.fold_str(node.args[0])
    if isinstance(node, ast.Subscript):
        return sub.folder.fold_str(node.slice)
    if isinstance(node, ast.Compare) and isinstance(node.left, ast.AST):
        return sub.folder.fold_str(node.left)
    return None


def _env_reads(sub: Submission) -> Iterator[tuple[ast.AST, str | None]]:
    for call, _ in calls(sub, ENV_READERS):
        yield call, _env_key(sub, call)
    for node in sub.nodes(ast.Subscript):
        if isinstance(node.ctx, ast.Load) and sub.resolver.matches(node.value, "os.environ", "os.environb"):
            yield node, _env_key(sub, node)
    for node in sub.nodes(ast.Compare):
        if any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) and any(
                sub.resolver.matches(c, "os.environ") for c in node.comparators):
            yield node, _env_key(sub, node)


@rule("SNF002", "Reads harness environment variables", "sniffing", Verdict.FAIL,
      what="Checks for reads of environment variables whose names belong to the harness or reveal the run "
           "(`POPCORN_*`, `*SEED*`, `*MODE*`, `*LEADERBOARD*`, `*BENCH*`, `PYTEST_CURRENT_TEST`, ...), however "
           "the name is spelled.",
      why="`POPCORN_SEED` is the secret seed and `POPCORN_FD` the results pipe; reading run-revealing variables "
          "lets the code tell checked runs from ranked ones or recover the secret inputs.",
      action="Disqualify the run (FAIL).",
      example="""
          import os
          def custom_kernel(data):
              if os.environ.get("POPCORN_" + "SEED"):
                  return data
              return data.clone()
      """,
      use_instead="""
          import os
          CACHE = os.environ.get("TRITON_CACHE_DIR", "/tmp/triton")
          def custom_kernel(data):
              return data.clone()
      """,
      kernelguard=["EVALUATOR_MODE_BRANCH"])
def harness_env(sub: Submission) -> Iterator[Hit]:
    for node, key in _env_reads(sub):
        if key and sensitive_env(key):
            yield Hit(node, f"Reads the environment variable `{key}`.")


@rule("SNF003", "Scans the environment", "sniffing", Verdict.FLAG,
      what="Checks for reads of environment variables with a computed name, and for iterating or copying "
           "`os.environ` as a whole.",
      why="Scanning the environment finds harness variables without naming them.",
      action="Review by hand.",
      example="""
          import os
          def custom_kernel(data):
              hints = [k for k in os.environ if k.startswith("POP")]
              return data if hints else data.clone()
      """,
      use_instead="""
          import os
          os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "9.0")
          def custom_kernel(data):
              return data.clone()
      """)
def env_scan(sub: Submission) -> Iterator[Hit]:
    for node, key in _env_reads(sub):
        if key is None:
            yield Hit(node, "Reads an environment variable whose name is computed at run time.")
    for node, _ in references(sub, ("os.environ", "os.environb")):
        parent = sub.parent(node)
        if (isinstance(parent, ast.comprehension) and parent.iter is node) or (isinstance(parent, ast.For) and (
                parent.iter is node)):
            yield Hit(node, "Iterates over the whole environment.")
        elif isinstance(parent, ast.Call) and node in parent.args and sub.resolver.qualnames(parent.func) & ENV_SCANS:
            yield Hit(parent, "Copies the whole environment.")
    for call, name in calls(sub, ("os.environ.items", "os.environ.keys", "os.environ.values", "os.environ.copy")):
        yield Hit(call, f"Calls `{name}`, reading the whole environment.")


@rule("SNF004", "Call counter drives behaviour", "sniffing", Verdict.FLAG,
      what="Checks for a counter kept across calls (`global calls; calls += 1`, `self.n += 1`, a function "
           "attribute) that is then tested in a condition that chooses a `return`.",
      why="The harness calls the kernel in a known order (correctness check, warm-up, timed calls); counting "
          "calls tells the code which call is being checked.",
      action="Review by hand; re-run with a different number of warm-up and checked calls.",
      example="""
          _calls = 0
          def custom_kernel(data):
              global _calls
              _calls += 1
              if _calls > 3:
                  return data
              return data.clone()
      """,
      use_instead="""
          _calls = 0
          def custom_kernel(data):
              global _calls
              _calls += 1
              if _calls == 1:
                  _compile_kernels()
              return data.clone()
      """,
      known_problems="A counter that sets a flag which a later `return` reads is not followed; the dynamic "
                     "call-order probes cover it.")
def call_counter(sub: Submission) -> Iterator[Hit]:
    state = sub.flow.state
    counters = state.counters
    if not counters:
        return
    names = {c.name for c in counters}
    for node in sub.nodes(ast.Name, ast.Attribute):
        if not isinstance(node.ctx, ast.Load) or (node.id if isinstance(node, ast.Name) else node.attr) not in names:
            continue
        function = sub.function_of(node)
        container = state.container_of(node, function)
        if container is not None and container in counters and in_condition(sub, node) and \
                _steers_result(sub, node):
            yield Hit(node, f"Tests the call counter {container.label()} to choose what is returned.")


def _steers_result(sub: Submission, node: ast.AST) -> bool:
    """Whether the test holding `node` picks a return: an `if`/`match` with a `return` in a branch, or a
    ternary that is returned. `if _calls == 1: _compile()` (first-call set-up) and `if _calls <= 7: print()`
    (logging) are what real entries do with counters; they change nothing the harness checks."""
    for ancestor in sub.ancestors(node):
        if isinstance(ancestor, ast.IfExp):
            return any(isinstance(a, ast.Return) for a in sub.ancestors(ancestor))
        if isinstance(ancestor, (ast.If, ast.While, ast.Match)):
            return any(isinstance(n, ast.Return) for n in _branch_nodes(ancestor))
        if isinstance(ancestor, ast.stmt):
            return False
    return False


def _branch_nodes(statement: ast.AST) -> Iterator[ast.AST]:
    blocks = [c.body for c in statement.cases] if isinstance(statement, ast.Match) else [
        statement.body, getattr(statement, "orelse", [])]
    stack = [n for block in blocks for n in block]
    while stack:
        item = stack.pop()
        yield item
        if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(item))


@rule("SNF005", "Sleeps", "sniffing", Verdict.FLAG,
      what="Checks for `time.sleep`, `asyncio.sleep`, `torch.cuda._sleep` outside a `__main__` self-test.",
      why="Sleeping during warm-up or the first calls changes how many timed iterations the harness picks and "
          "what it measures (pygpubench `submission_warmup`); a kernel never needs to sleep.",
      action="Review by hand.",
      example="""
          import time
          def custom_kernel(data):
              time.sleep(0.01)
              return data.clone()
      """,
      use_instead="""
          import time
          def custom_kernel(data):
              t0 = time.perf_counter()
              out = data.clone()
              return out
      """)
def sleeps(sub: Submission) -> Iterator[Hit]:
    for call, name in calls(sub, SLEEPS):
        yield Hit(call, f"Calls `{name}`.")
