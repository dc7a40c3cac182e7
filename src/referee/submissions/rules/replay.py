"""Output replay: the entry point hands back an output stored by an earlier call instead of computing it.

The harness times repeated calls on the same input objects, so a kernel that computes once and then returns
the stored tensor reports the cost of a dictionary lookup. What separates this from the many honest caches
(compiled kernels, launch configs, workspaces keyed by shape) is data flow, not the presence of a dict: the
value *returned* must come from a container that outlives the call, and no statement on the way to the
`return` may rewrite it from this call's inputs. The key then says which variant it is.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from referee.report import Verdict
from referee.submissions.analysis import Origin, Submission
from referee.submissions.rules._util import calls, code
from referee.submissions.rules.registry import Hit, rule

IDENTITY_METHODS = frozenset({"data_ptr", "untyped_storage", "storage", "_cdata", "unsafe_ptr", "storage_offset"})
IDENTITY_ATTRS = frozenset({"_version", "__array_interface__", "__cuda_array_interface__", "_cdata"})
CONTENT_METHODS = frozenset({"tobytes", "numpy", "tolist", "item", "sum", "mean", "norm", "equal", "allclose",
                             "hexdigest", "digest", "cpu", "abs", "max", "min", "prod", "std", "flatten"})
SHAPE_METHODS = frozenset({"size", "numel", "dim", "stride", "nelement"})
SHAPE_ATTRS = frozenset({"shape", "dtype", "device", "ndim", "layout"})
CONTENT_FUNCS = frozenset({"torch.equal", "torch.allclose", "torch.eq", "zlib.crc32", "zlib.adler32",
                           "pickle.dumps", "builtins.repr", "builtins.str", "numpy.array_equal"})


@dataclass(frozen=True)
class Replay:
    entry: ast.AST
    ret: ast.AST
    origin: Origin
    kind: str  # identity, content, shape, order, memo
    because: str


def _features(sub: Submission, expr: ast.AST, function: ast.AST, depth: int, out: dict[str, str]) -> None:
    """Collect what a key or guard expression is derived from: identity, content, shape, counter."""
    flow = sub.flow
    objects = input_objects(sub, function)
    counters = flow.state.counters
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            func = node.func
            names = sub.resolver.qualnames(func)
            hashed_object = "builtins.hash" in names and node.args and _bare_inputs(node.args[0], objects)
            if "builtins.id" in names or hashed_object:
                out.setdefault("identity", code(node))
            elif names & CONTENT_FUNCS or any(n.startswith(("hashlib.", "xxhash.")) for n in names):
                out.setdefault("content", code(node))
            elif isinstance(func, ast.Attribute):
                if func.attr in IDENTITY_METHODS:
                    out.setdefault("identity", code(node))
                elif func.attr in CONTENT_METHODS and flow.is_tainted(func.value, function):
                    out.setdefault("content", code(node))
                elif func.attr in SHAPE_METHODS and flow.is_tainted(func.value, function):
                    out.setdefault("shape", code(node))
            if "builtins.len" in names and node.args and flow.is_tainted(node.args[0], function):
                out.setdefault("shape", code(node))
            callee = flow.callee(node, function) if depth < 3 else None
            if callee is not None and callee is not function:
                for ret in flow.returns(callee):
                    _features(sub, ret.value if isinstance(ret, ast.Return) else ret, callee, depth + 1, out)
        elif isinstance(node, ast.Attribute):
            if node.attr in IDENTITY_ATTRS:
                out.setdefault("identity", code(node))
            elif node.attr in SHAPE_ATTRS and flow.is_tainted(node.value, function):
                out.setdefault("shape", code(node))
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops) and any(
                    isinstance(o, ast.Name) and o.id in objects for o in operands) and not any(
                    isinstance(o, ast.Constant) for o in operands):
                out.setdefault("identity", code(node))
        elif isinstance(node, ast.Name):
            container = flow.state.container_of(node, function)
            if container is not None and container in counters:
                out.setdefault("counter", node.id)
            elif depth < 3 and node.id not in flow.inputs(function):
                for value in flow.local_values(node.id, function):
                    _features(sub, value, function, depth + 1, out)
        if isinstance(node, (ast.Lambda, ast.FunctionDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _bare_inputs(expr: ast.AST, objects: set[str]) -> bool:
    """`data`, `(a, b)`, `data[0]`: the input objects themselves (tensors hash by identity)."""
    if isinstance(expr, ast.Name):
        return expr.id in objects
    if isinstance(expr, ast.Subscript):
        return _bare_inputs(expr.value, objects)
    if isinstance(expr, (ast.Tuple, ast.List)):
        return bool(expr.elts) and all(_bare_inputs(e, objects) for e in expr.elts)
    return False


def input_objects(sub: Submission, function: ast.AST) -> set[str]:
    """The entry's parameters and local names bound to them or their elements (`a, b = data`)."""
    flow = sub.flow
    names = set(flow.inputs(function))
    scope = sub.scopes.by_node.get(function)
    if scope is None:
        return names
    for _ in range(4):
        grew = False
        for name, bindings in scope.bindings.items():
            if name not in names and bindings and all(
                    b.kind in ("assign", "unpack", "for") and b.value is not None and _bare_inputs(b.value, names)
                    for b in bindings):
                names.add(name)
                grew = True
        if not grew:
            break
    return names


def _classify(sub: Submission, origin: Origin) -> tuple[str, str]:
    flow = sub.flow
    function = origin.function
    if origin.container is not None and origin.container.kind == "memo":
        return "memo", code(origin.node)
    features: dict[str, str] = {}
    if origin.key is not None:
        _features(sub, origin.key, function, 0, features)
        if "identity" not in features and _bare_inputs(origin.key, input_objects(sub, function)):
            features["identity"] = code(origin.key)
            features["object-key"] = code(origin.key)
    if not features.keys() & {"identity", "content", "shape"}:
        for test in flow.guards(origin.node, function):
            _features(sub, test, function, 0, features)
    for kind in ("identity", "content", "shape"):
        if kind in features:
            return (kind if "object-key" not in features else "object"), features[kind]
    if "counter" in features:
        return "order", f"call counter `{features['counter']}`"
    return "order", "no key: the last stored value is returned"


def replays(sub: Submission) -> list[Replay]:
    """Every return of an entry point that hands back a stored value, classified by its key (memoised)."""
    cached = sub.__dict__.get("_replays")
    if cached is not None:
        return cached
    flow, found, seen = sub.flow, [], set()
    for entry in flow.entries:
        for ret, origins in flow.return_origins(entry.function):
            for origin in origins:
                if origin.kind != "read" or origin.container is None:
                    continue
                if not flow.state.is_stored(origin.container):
                    continue
                kind, because = _classify(sub, origin)
                if kind == "memo" and not flow.is_tainted(origin.key, origin.function):
                    continue
                if not entry.resolved and kind not in ("identity", "content"):
                    continue  # without a known entry point, only explicit pointer/content keys are evidence
                if kind == "object":
                    kind = "identity"  # keyed by the tensor object itself: tensors hash by identity
                marker = (id(ret), origin.container, kind)
                if marker in seen:
                    continue
                seen.add(marker)
                found.append(Replay(entry.function, ret, origin, kind, because))
    sub.__dict__["_replays"] = found
    return found


def _hits(sub: Submission, kind: str, explain: str) -> Iterator[Hit]:
    for item in replays(sub):
        if item.kind != kind:
            continue
        container = item.origin.container
        stores = sub.flow.state.stores.get(container, [])
        related = [(node, f"stored into {container.label()} here") for node in stores[:2]]
        name = getattr(item.entry, "name", "<lambda>")
        message = (f"`{name}` returns `{code(item.origin.node)}` from {container.label()} without recomputing it "
                   f"from this call's inputs; {explain} (`{item.because}`).")
        yield Hit(item.ret, message, detail=f"key: {item.because}", related=related)


COMMON_ACTION = ("Disqualify the run (FAIL). Re-time the kernel with fresh, never-seen inputs on every call "
                 "and confirm outputs match the reference.")


@rule("RPL001", "Output replay keyed by input identity", "output-replay", Verdict.FAIL,
      what="Checks for an entry point that returns an output stored in a persistent container (global, closure, "
           "default argument, function/class/instance attribute) under a key derived from the input's identity: "
           "`id()`, `data_ptr()`, `_version`, storage pointers, or the tensor object itself.",
      why="The harness reuses the same input objects across timed calls. Returning the stored output for a known "
          "pointer makes every timed call a dictionary lookup, so the reported time is fabricated (kernelbot "
          "PR #501, reference-kernels PRs #102/#160).",
      action=COMMON_ACTION,
      example="""
          _cache = {}
          def custom_kernel(data):
              a, b = data
              key = a.data_ptr()
              if key in _cache:
                  return _cache[key]
              out = a @ b
              _cache[key] = out
              return out
      """,
      use_instead="""
          _kernels = {}
          def custom_kernel(data):
              a, b = data
              fn = _kernels.get(a.shape)
              if fn is None:
                  fn = _kernels[a.shape] = torch.compile(torch.matmul)
              return fn(a, b)
      """,
      known_problems="Errs towards false negatives: a stored output that is touched by an in-place call with "
                     "an input-derived argument before the return counts as recomputed. The dynamic replay "
                     "probes (same object, mutated in place, interleaved inputs) catch what this misses.",
      kernelguard=["POINTER_REPLAY", "OUTPUT_REPLAY_CACHE", "TIMED_INPUT_REPLAY"])
def identity_replay(sub: Submission) -> Iterator[Hit]:
    yield from _hits(sub, "identity", "the key comes from the input's identity, so repeated calls on the same "
                                      "object replay the first output")


@rule("RPL002", "Output replay keyed by input content", "output-replay", Verdict.FAIL,
      what="Checks for an entry point that returns a stored output keyed by the input's content: a hash of "
           "`tobytes()`, `sum().item()`, `torch.equal` against the last input, and similar signatures.",
      why="Cloning inputs between timed calls defeats identity keys but not content keys; a content-keyed "
          "cache still returns an output learned during warm-up inside the measured region "
          "(reference-kernels PR #167).",
      action=COMMON_ACTION,
      example="""
          _seen = {}
          def custom_kernel(data):
              sig = hash(data.cpu().numpy().tobytes())
              if sig in _seen:
                  return _seen[sig]
              out = torch.cumsum(data, 0)
              _seen[sig] = out
              return out
      """,
      use_instead="""
          def custom_kernel(data):
              return torch.cumsum(data, 0)
      """,
      known_problems="Signatures computed through helper functions more than three assignments away are "
                     "reported as RPL004 (no recognisable key) instead.",
      kernelguard=["OUTPUT_REPLAY_CACHE", "CONFIG_CACHE_EXPLOIT"])
def content_replay(sub: Submission) -> Iterator[Hit]:
    yield from _hits(sub, "content", "the key is a signature of the input's values, so warm-up outputs are "
                                     "replayed for equal inputs")


@rule("RPL003", "Output replay keyed by shape", "output-replay", Verdict.FAIL,
      what="Checks for an entry point that returns a stored output keyed by the input's shape, dtype or size.",
      why="Benchmarks repeat the same shapes, so an output stored per shape is returned for every later input of "
          "that shape, whatever its values: the timing is fabricated and the output is wrong for new data. "
          "Caches keyed by shape are fine for compiled kernels, configs and workspaces, never for outputs.",
      action=COMMON_ACTION,
      example="""
          _by_shape = {}
          def custom_kernel(data):
              key = tuple(data.shape)
              if key not in _by_shape:
                  _by_shape[key] = torch.cumsum(data, -1)
              return _by_shape[key]
      """,
      use_instead="""
          _buffers = {}
          def custom_kernel(data):
              key = tuple(data.shape)
              if key not in _buffers:
                  _buffers[key] = torch.empty_like(data)
              out = _buffers[key]
              torch.cumsum(data, -1, out=out)
              return out
      """,
      known_problems="A reused output buffer is accepted when a statement on every path to the return writes "
                     "into it using the inputs.",
      kernelguard=["SHAPE_OUTPUT_REPLAY", "BENCHMARK_SHAPE_REPLAY"])
def shape_replay(sub: Submission) -> Iterator[Hit]:
    yield from _hits(sub, "shape", "the key is the input's shape, so any later input of that shape gets the "
                                   "stored output")


@rule("RPL004", "Last-call or call-order replay", "output-replay", Verdict.FAIL,
      what="Checks for an entry point that returns a value kept from an earlier call with no input-derived key: "
           "the last output (`global _last`), `self._out`, or an entry picked by a call counter from a result "
           "bank.",
      why="Returning the previous output, or outputs precomputed in the first call and handed out in call order, "
          "makes the timed calls free (reference-kernels PR #104, KernelGuard LAST_CALL_REPLAY).",
      action=COMMON_ACTION,
      example="""
          _last = None
          def custom_kernel(data):
              global _last
              if _last is not None:
                  return _last
              _last = data.cumsum(0)
              return _last
      """,
      use_instead="""
          _out = None
          def custom_kernel(data):
              global _out
              if _out is None or _out.shape != data.shape:
                  _out = torch.empty_like(data)
              torch.cumsum(data, 0, out=_out)
              return _out
      """,
      kernelguard=["LAST_CALL_REPLAY", "RESULT_BANK_REPLAY", "SEQUENCE_BATCH_GRAPH"])
def order_replay(sub: Submission) -> Iterator[Hit]:
    yield from _hits(sub, "order", "nothing ties the stored value to this call's input")


@rule("RPL005", "Memoised output (lru_cache)", "output-replay", Verdict.FAIL,
      what="Checks for an entry point whose returned value comes straight from a function decorated with "
           "`functools.lru_cache`/`cache` (or wrapped by it) that is called with the inputs.",
      why="A memoised function returns the stored result for an argument it has seen; tensors hash by identity, "
          "so every timed call on the same input is a cache hit.",
      action=COMMON_ACTION,
      example="""
          import functools
          @functools.lru_cache(maxsize=None)
          def _solve(x):
              return torch.linalg.inv(x)
          def custom_kernel(data):
              return _solve(data)
      """,
      use_instead="""
          import functools
          @functools.lru_cache(maxsize=None)
          def _plan(n):
              return torch.compile(torch.linalg.inv)
          def custom_kernel(data):
              return _plan(data.shape[-1])(data)
      """,
      kernelguard=["OUTPUT_REPLAY_CACHE"])
def memo_replay(sub: Submission) -> Iterator[Hit]:
    yield from _hits(sub, "memo", "the memoised function returns its stored result for an argument it has seen")
    for entry in sub.flow.entries:
        if entry.resolved and sub.flow.state.is_memo_decorated(entry.function) and entry.inputs:
            yield Hit(entry.function, f"The entry point `{getattr(entry.function, 'name', '?')}` itself is memoised, "
                                      "so repeated calls with the same input return the stored output.")


SAVE_FUNCS = frozenset({"torch.save", "pickle.dump", "numpy.save", "numpy.savez", "joblib.dump", "shelve.open",
                        "dill.dump", "safetensors.torch.save_file"})
LOAD_FUNCS = frozenset({"torch.load", "pickle.load", "numpy.load", "joblib.load", "dill.load",
                        "safetensors.torch.load_file", "torch.from_file", "numpy.memmap", "numpy.fromfile"})
SHARED_PREFIXES = ("multiprocessing.shared_memory", "mmap.mmap", "posix_ipc", "sysv_ipc")


@rule("RPL006", "Outputs kept outside the process", "output-replay", Verdict.FLAG,
      what="Checks for results written to and read back from files, `/dev/shm` or shared memory "
           "(`torch.save` + `torch.load`, `pickle`, `numpy.save`/`load`, `multiprocessing.shared_memory`).",
      why="A replay cache can live outside the Python process, where in-process checks and re-imports do not "
          "see it: the first run writes outputs, later runs read them back (reference-kernels PR #160's "
          "within-run `/dev/shm` replay).",
      action="Review by hand; re-run the submission in a fresh sandbox with an empty, read-only file system.",
      example="""
          import os, torch
          P = "/dev/shm/out.pt"
          def custom_kernel(data):
              if os.path.exists(P):
                  return torch.load(P)
              out = data.cumsum(0)
              torch.save(out, P)
              return out
      """,
      use_instead="""
          import torch
          def custom_kernel(data):
              return data.cumsum(0)
      """,
      known_problems="Saving without loading (debug dumps) is not reported; loading read-only assets "
                     "shipped with the task is not reported unless something is also saved.")
def external_store(sub: Submission) -> Iterator[Hit]:
    saves = list(calls(sub, SAVE_FUNCS))
    loads = list(calls(sub, LOAD_FUNCS))
    if saves and loads:
        call, name = loads[0]
        yield Hit(call, f"Saves data with `{saves[0][1]}` and reads it back with `{name}`: results can persist "
                        "between runs outside the process.", related=[(saves[0][0], "saved here")])
    for call, name in calls(sub, (), SHARED_PREFIXES):
        yield Hit(call, f"Uses shared memory (`{name}`), which can keep outputs between runs.")
    for node, text in sub.strings:
        if "/dev/shm" in text:
            yield Hit(node, "Refers to `/dev/shm`, a RAM-backed file system that keeps data between runs.")
