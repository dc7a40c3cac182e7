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
from referee.submissions.analysis.contract import member_positions
from referee.submissions.rules._util import calls, in_condition, loop_values, references
from referee.submissions.rules.registry import Hit, rule

SENSITIVE_TOKENS = frozenset({"SEED", "MODE", "LEADERBOARD", "BENCH", "BENCHMARK", "RANKED", "EVAL", "GRADER",
                              "SUBMISSION", "TIMING", "SECRET", "JUDGE", "HARNESS", "SCORE"})
# Libraries' own settings (`AITER_MLA_MODE` is AMD aiter's, not the harness's mode): the harness's variables are
# its own (`POPCORN_*`), so a name under a library's prefix cannot be one of them.
LIBRARY_PREFIXES = frozenset({"TORCH", "TORCHINDUCTOR", "PYTORCH", "TRITON", "CUDA", "CUBLAS", "CUDNN", "NCCL", "OMP",
                              "MKL", "KMP", "XLA", "HF", "TF", "NVIDIA", "NV", "HIP", "ROCM", "PYTHON", "JAX",
                              "AITER", "CK", "HIPBLASLT", "ROCBLAS", "MIOPEN", "RCCL", "HSA", "CUTLASS", "TILELANG",
                              "FLASHINFER", "VLLM", "SGLANG", "TVM", "LLVM", "MLIR", "NUMBA"})


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


def _env_keys(sub: Submission, node: ast.AST) -> list[str | None]:
    """The names an environment read can ask for: one constant, each member of the constant list a loop
    variable runs over (`for k in ["AITER_USE_NT", ...]: os.environ.get(k)`), or None when computed."""
    key_expr = None
    if isinstance(node, ast.Call) and node.args:
        key_expr = node.args[0]
    elif isinstance(node, ast.Subscript):
        key_expr = node.slice
    elif isinstance(node, ast.Compare):
        key_expr = node.left
    key = sub.folder.fold_str(key_expr)
    if key is not None or not isinstance(key_expr, ast.Name):
        return [key]
    values = loop_values(sub, node, key_expr.id) or [None]
    return values if all(isinstance(v, str) for v in values) else [None]


def _env_reads(sub: Submission) -> Iterator[tuple[ast.AST, str | None]]:
    found: list[ast.AST] = [call for call, _ in calls(sub, ENV_READERS)]
    found += [n for n in sub.nodes(ast.Subscript)
              if isinstance(n.ctx, ast.Load) and sub.resolver.matches(n.value, "os.environ", "os.environb")]
    found += [n for n in sub.nodes(ast.Compare) if any(isinstance(op, (ast.In, ast.NotIn)) for op in n.ops)
              and any(sub.resolver.matches(c, "os.environ") for c in n.comparators)]
    for node in found:
        for key in _env_keys(sub, node):
            yield node, key


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
        if not _library_filtered(sub, call):
            yield Hit(call, f"Calls `{name}`, reading the whole environment.")


def _library_filtered(sub: Submission, node: ast.AST) -> bool:
    """`{k: v for k, v in os.environ.items() if "TRITON" in k}`: a comprehension that keeps only one library's
    own settings (a known prefix such as TRITON, TORCH, HIP) reads no harness variable."""
    parent = sub.parent(node)
    if not (isinstance(parent, ast.comprehension) and parent.iter is node and parent.ifs):
        return False
    target = parent.target.elts[0] if isinstance(parent.target, ast.Tuple) and parent.target.elts else parent.target
    if not isinstance(target, ast.Name):
        return False
    return any(_library_test(test, target.id) for test in parent.ifs)


def _library_test(test: ast.AST, key: str) -> bool:
    """`"TRITON" in k`, `k.upper().startswith("HIP_")`, or an `or`/`and` made only of such tests."""
    if isinstance(test, ast.BoolOp):
        return all(_library_test(v, key) for v in test.values)
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.In):
        word, subject = test.left, test.comparators[0]
    elif isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and \
            test.func.attr == "startswith" and len(test.args) == 1:
        word, subject = test.args[0], test.func.value
    else:
        return False
    mentions = any(isinstance(n, ast.Name) and n.id == key for n in ast.walk(subject))
    return mentions and isinstance(word, ast.Constant) and isinstance(word.value, str) and \
        word.value.strip("_").upper().split("_")[0] in LIBRARY_PREFIXES and not sensitive_env(word.value)


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
                     "call-order probes cover it. A counter that only picks between implementations, each "
                     "computing its answer from the call's inputs (library path during warm-up, own kernel "
                     "after), is not reported: the answer of every call is still checked.")
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
                _steers_result(sub, node) and not _every_answer_computed(sub, function):
            yield Hit(node, f"Tests the call counter {container.label()} to choose what is returned.")


def _every_answer_computed(sub: Submission, function: ast.AST | None) -> bool:
    """Every value `function` returns is computed on this call from the input values (`fused_moe(hidden, ...)`,
    a buffer a kernel fills): the counter then only picks which implementation runs (the library path while
    the own kernel compiles, a first-call self-test), and each answer is still checked (reference-kernels'
    eval.py rechecks every timed output in leaderboard mode). A bare input, a stored object or shape-only
    data returned is what a counter-keyed shortcut hands back, and stays reported."""
    if function is None or not hasattr(function, "args"):
        return False
    from referee.submissions.rules.input_mutation import mutations

    flow = sub.flow
    bare = set(flow.inputs(function)) | set(member_positions(function))
    written: set[str] | None = None
    for value in _answers(flow.returns(function)):
        if isinstance(value, ast.Constant) and value.value is None:
            continue  # an error path: the harness rejects a None answer by itself
        if not flow.is_tainted(value, function, values_only=True):
            return False
        if isinstance(value, ast.Name) and value.id in bare:
            if written is None:
                written = {m.root for m in mutations(sub, function)}
            if value.id not in written:
                return False  # `return data`: the input itself, untouched
    return True


def _answers(returns: list[ast.AST]) -> Iterator[ast.AST]:
    """The values the returns can hand back, each branch of `a if c else b` and `a or b` on its own."""
    stack = [r.value if isinstance(r, ast.Return) else r for r in returns]
    while stack:
        value = stack.pop()
        if isinstance(value, ast.IfExp):
            stack += [value.body, value.orelse]
        elif isinstance(value, ast.BoolOp):
            stack += value.values
        else:
            yield value


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
