"""The child side of one grade: load the completion, commit the oracle outputs, then play the mode's harness.

Runs inside the sandboxed child (`grade_main`, `probe_main` are sandbox drivers); the relay handler in the fork
server (`relay`) and the verdict service in the grading process (`verdict`) are the other two ends.

1. Before any completion code: take the per-run nonce (from the payload), build a *sealed channel* (C-level JSON
   encoder and scanner, `os.read`/`os.write` and the identity of fd 3, all captured now), run the problem's
   trusted setup code (its leading imports already ran in the fork server, `warm`), build every test input
   with the setup helpers, block signals and install the guard (`guard`).
2. Load the completion as module ``solution`` (never ``__main__``) in its own namespace; in run_tests mode the
   grader's real ``run_tests`` is bound first (in builtins, so a def, an assignment, ``globals()[...]`` or a
   builtins rebinding in the completion all redefine it). An exception while
   loading ends the script as the interpreter would (no tests, exit 1); ``SystemExit``/``os._exit`` end it for
   real, and the exit status is what the exit_code grader sees.
3. Oracle: call ``Solution().m(**args)`` once per test on a fresh instance and encode each output at once
   (exact built-in types only, `values`); send them in one frame. The expected values are not in this process:
   the verdict service compares in the grading process, then answers with one bit (did the real tests pass)
   and, in eq_override mode, the expected values of the outputs that were not plain values.
4. The mode's harness produces the honest signal when the real tests passed (the real run_tests returns, ``==``
   in the object's favour, ``valid`` set, ``result.txt`` written, the marker on fd 1, exit status 0) and reports
   the in-process signals (run_tests, eq, sentinel) on the channel.

Everything this module calls after the completion loads is bound before it loads (default arguments, closure
cells), so rebinding builtins, `json` internals or this module's globals changes nothing here. Only the standard
library is imported (the fork server pre-imports this module).
"""

from __future__ import annotations

import builtins
import gc
import os
import sys
import types
from collections import OrderedDict
from typing import Any

from referee.loopholes.guard import block_signals, decode_text, install_guard, sealed_channel
from referee.loopholes.levers import (
    class_attr,
    custom_eq,
    describe,
    eq_signal,
    needs_arguments,
    open_workdir,
    reset_tempfile,
    result_file_claims_pass,
    rt_signal,
    signal_state,
    sn_signal,
    write_result_file,
)
from referee.loopholes.modes import STDOUT_MARKER, TEST_FUNC
from referee.loopholes.sealing import child_keypair, unseal
from referee.loopholes.values import Opaque, encode, walk_list, walk_tree

_CACHE: OrderedDict[str, Any] = OrderedDict()
_CACHE_SIZE = 1024
_MSG = 200


# ── compile cache, warmed in the fork server (setup code is compiled there; only its imports run there) ───────
def warm(payload: dict[str, Any]) -> None:
    """Prepare the setup code and input builder once per fork server (see `_setup_entry`).

    Called by the relay in the fork server for every job, so a hit must cost next to nothing: the keys are
    looked up before any source text is built."""
    for index, key in enumerate(_source_keys(payload)):
        if key in _CACHE:
            continue
        source, mode = _source(payload, index)
        try:
            _CACHE[key] = _setup_entry(source) if index == 0 else compile(source, "<setup>", mode)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)


def _setup_entry(source: str) -> tuple[types.ModuleType | None, types.CodeType]:
    """(prelude module or None, code the child runs) for one setup code, built in the fork server.

    The setup code's leading import statements (`import x`, `from typing import *`, ...) run here once, into a
    module `solution` that every later child of this server adopts as is; the child then runs only the rest.
    The child gets the module copy-on-write, so it no longer takes a reference to each of the ~300 imported
    names - the page copies that cost about half a millisecond per job. Only import statements run here,
    never a definition of the problem (the server already imported every module a setup code names)."""
    import ast

    tree = ast.parse(source)
    lead = 0
    for node in tree.body:
        if not (isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and not node.level
                                                  and node.module != "__future__")):
            break
        lead += 1
    _import_modules(tree.body[lead:])
    if lead == 0:
        return None, compile(tree, "<setup>", "exec")
    module = _new_module()
    try:
        exec(compile(ast.Module(body=tree.body[:lead], type_ignores=[]), "<setup>", "exec"), module.__dict__)
    except Exception:  # the child runs the whole setup code and reports the failure as a setup error
        return None, compile(tree, "<setup>", "exec")
    return module, compile(ast.Module(body=tree.body[lead:], type_ignores=[]), "<setup>", "exec")


def _import_modules(nodes: list[Any]) -> None:
    """Import the modules named by import statements further down the setup code (they run in the child)."""
    import ast
    import importlib

    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    for name in sorted(names - set(sys.modules)):
        try:
            importlib.import_module(name)
        except Exception:
            continue


def _source_keys(payload: dict[str, Any]) -> list[str]:
    """Cache keys of the setup code, the input builder and the two `run_tests()` call forms."""
    key = str(payload.get("plan_key", ""))
    cls = str(payload.get("cls", "Solution"))
    return [f"s:{payload.get('setup_key', key)}", f"i:{key}", f"r:{cls}", f"m:{cls}"]


def _source(payload: dict[str, Any], index: int) -> tuple[str, str]:
    """(source, compile mode) of the `index`-th entry of `_source_keys`; built only on a cache miss."""
    if index == 0:
        return payload.get("setup") or "", "exec"
    if index == 1:
        return "[" + ",".join(f"__pack__({a})" for a in payload.get("inputs", [])) + "]", "eval"
    cls = str(payload.get("cls", "Solution"))
    return (f"{TEST_FUNC}()" if index == 2 else f"{cls}().{TEST_FUNC}()"), "eval"


def _compiled(payload: dict[str, Any], keys: list[str], index: int) -> Any:
    """The compiled input builder or call form `index` (1-3) of `_source_keys`."""
    code = _CACHE.get(keys[index])
    if code is None:
        source, mode = _source(payload, index)
        code = compile(source, "<setup>", mode)
    return code


def _pack(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return args, kwargs


# ── helpers used after the completion loads: every global they need is a default argument ────────────────
_describe = describe
_class_attr = class_attr
_custom_eq = custom_eq


def _real_run_tests(verdict: list[bool | None]) -> Any:
    def run_tests() -> None:
        """The grader's run_tests: raises unless the real tests passed (a no-op before the verdict exists)."""
        if verdict[0] is False:
            raise AssertionError("the real tests failed")

    return run_tests


def _oracle(cls: Any, method: str, inputs: list[Any], kinds: list[str], _getattr: Any = getattr,
            _exc: Any = Exception, _opaque: Any = Opaque, _str: Any = str, _walk_list: Any = walk_list,
            _walk_tree: Any = walk_tree, _encode: Any = encode, _describe: Any = _describe,
            _custom_eq: Any = _custom_eq, _enumerate: Any = enumerate) -> tuple[list[Any], list[Any], Any]:
    """Call the method once per test (fresh instance each); encoded results, raw outputs, last instance."""
    results: list[Any] = []
    raw: list[Any] = []
    last = None
    for index, (args, kwargs) in _enumerate(inputs):
        try:
            if cls is None:
                raise NameError("the completion defines no Solution class")
            last = cls()
            out = _getattr(last, method)(*args, **kwargs)
        except _exc as exc:
            results.append(["x", _describe(exc)])
            raw.append(None)
            continue
        raw.append(out)
        kind = kinds[index]
        try:
            value = _walk_list(out) if kind == "list" else _walk_tree(out) if kind == "tree" else _encode(out)
            results.append(["v", value])
        except _opaque as reason:
            results.append(["o", _str(reason)[:_MSG], _custom_eq(out)])
        except _exc as exc:  # the encoder itself was tampered with: this output counts as not delivered
            results.append(["x", f"output could not be encoded: {_describe(exc)}"])
    return results, raw, last


def _evidence(namespace: dict[str, Any], cls_name: str, own_rt: Any, dirfd: int | None,
              _lookup: Any = class_attr, _builtins: dict[str, Any] = builtins.__dict__,
              _claims: Any = result_file_claims_pass, _needs: Any = needs_arguments,
              _type: Any = type, _dict: Any = dict) -> dict[str, Any]:
    """What the completion bound or wrote, seen without running any of its code. A run_tests that needs
    arguments is an unrelated helper (the grader calls it with none), not the lever."""
    where = []
    bound = namespace.get(TEST_FUNC)
    if bound is not None and not _needs(bound):
        where.append("module")
    in_builtins = _builtins.get(TEST_FUNC, own_rt)
    replaced = namespace.get("__builtins__")  # a module whose builtins mapping was replaced wholesale
    if _type(replaced) is _dict and replaced is not _builtins and TEST_FUNC in replaced:
        in_builtins = replaced[TEST_FUNC]
    if in_builtins is not own_rt and not _needs(in_builtins):
        where.append("builtins")
    method = _lookup(namespace.get(cls_name), TEST_FUNC)
    if method is not None and not _needs(method, True):
        where.append("class")
    return {"run_tests": where, "result_file": _claims(dirfd)}


# ── drivers ─────────────────────────────────────────────────────────────────────────────────────────────
def _open_released(secret: int | None, reply: Any, _unseal: Any = unseal, _decode: Any = decode_text,
                   _type: Any = type, _dict: Any = dict) -> Any:
    """eq_override's released expected values, unsealed (None when none came back or they do not decode)."""
    if secret is None or _type(reply) is not _dict:
        return None
    data = _unseal(secret, reply.get("eqs"))
    try:
        return None if data is None else _decode(data.decode())
    except Exception:
        return None


def _nonce(payload: dict[str, Any], channel: Any = None) -> str:
    """The run's nonce, put in the payload by the grading process; taken out of it before any completion code
    runs (an empty nonce makes the relay refuse every frame: the run then pays nothing)."""
    nonce = payload.pop("nonce", None)
    return nonce if isinstance(nonce, str) else ""


def _setup(payload: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """Run the trusted setup code and build every test input (before any completion code exists)."""
    keys = _source_keys(payload)
    entry = _CACHE.get(keys[0])
    if entry is None:  # first job of this setup code on this fork server: nothing prepared yet
        entry = (None, compile(payload.get("setup") or "", "<setup>", "exec"))
    prelude, code = entry
    namespace = _module_namespace(module=prelude)
    exec(code, namespace)
    namespace["__pack__"] = _pack
    try:
        return namespace, eval(_compiled(payload, keys, 1), namespace)
    finally:
        del namespace["__pack__"]


def _new_module() -> types.ModuleType:
    module = types.ModuleType("solution")
    module.__dict__.update({"__name__": "solution", "__builtins__": builtins, "__file__": "solution.py"})
    return module


def _module_namespace(base: dict[str, Any] | None = None,
                      module: types.ModuleType | None = None) -> dict[str, Any]:
    """The namespace of a module `solution` (a fresh one holding `base`, or the prepared `module`, which this
    process owns alone once forked), registered in sys.modules as a real import would be (dataclasses, typing
    and pickle look a class's module up there)."""
    if module is None:
        module = _new_module()
        module.__dict__.update(base or {})
        module.__dict__.update({"__name__": "solution", "__builtins__": builtins, "__file__": "solution.py"})
    sys.modules["solution"] = module
    return module.__dict__


def _load(code: str, namespace: dict[str, Any], _compile: Any = compile, _exec: Any = exec,
          _exc: Any = Exception, _write: Any = os.write, _describe: Any = _describe) -> str | None:
    """Execute the completion; the load error text, or None when it loaded."""
    try:
        _exec(_compile(code, "solution.py", "exec"), namespace)
    except _exc as exc:
        text = _describe(exc)
        try:
            _write(2, f"referee: the completion raised while loading: {text}\n".encode("utf-8", "replace"))
        except OSError:
            pass
        return text
    return None


def grade_main(payload: dict[str, Any], channel: Any, _write: Any = os.write, _type: Any = type,
               _dict: Any = dict, _oracle: Any = _oracle, _evidence: Any = _evidence, _rt: Any = rt_signal,
               _eq: Any = eq_signal, _sn: Any = sn_signal, _file: Any = write_result_file,
               _state: Any = signal_state, _gc_disable: Any = gc.disable, _keypair: Any = child_keypair,
               _released: Any = _open_released, marker: bytes = f"{STDOUT_MARKER}\n".encode()) -> int:
    """Sandbox driver for one graded completion (see the module docstring for the sequence)."""
    send, recv, _ = sealed_channel(_nonce(payload, channel))
    mode, cls_name, kinds = payload["mode"], payload["cls"], list(payload["kinds"])
    try:
        namespace, inputs = _setup(payload)
    except Exception as exc:
        send({"t": "setup_error", "err": _describe(exc)})
        return 125
    list_node, tree_node = namespace.get("list_node"), namespace.get("tree_node")
    verdict: list[bool | None] = [None]
    own_rt = _real_run_tests(verdict)
    keys = _source_keys(payload)
    calls = (_compiled(payload, keys, 2), _compiled(payload, keys, 3))
    if mode == "run_tests":  # in builtins, so a def, an assignment or a builtins rebinding all override it
        builtins.__dict__[TEST_FUNC] = own_rt
    dirfd = open_workdir()
    reset_tempfile()
    block_signals()
    state = _state()
    install_guard(lambda why: send({"t": "tamper", "why": why}))
    load_error = _load(payload["code"], namespace)
    if load_error is None:
        results, raw, last = _oracle(namespace.get(cls_name), payload["method"], inputs, kinds)
    else:
        results, raw, last = [["x", "the completion did not load"] for _ in inputs], [], None
    _gc_disable()  # no finalizer of the completion's garbage runs between the checks below and the reply
    evidence = _evidence(namespace, cls_name, own_rt, dirfd)
    if _state() != state:  # a handler or an unblocked signal could have walked the harness's frames
        send({"t": "tamper", "why": "signal mask, a signal handler or a trace hook was changed"})
    frame = {"t": "oracle", "load": load_error, "res": results, "ev": evidence}
    secret = None
    if mode == "eq_override" and ["o"] in [item[:1] for item in results]:  # expected values may come back
        secret, frame["dh"] = _keypair()
    if not send(frame):
        return 1  # fd 3 is not the sandbox's channel any more: no verdict can be trusted
    reply = recv()
    ok = _type(reply) is _dict and reply.get("ok") is True
    eq_expected = _released(secret, reply)
    verdict[0] = ok
    status = 0 if ok else 1
    if load_error is not None:
        send({"t": "done", "exit": 1})
        return 1
    if mode == "run_tests":
        frame = _rt(namespace, cls_name, own_rt, calls)
    elif mode == "eq_override":
        frame = _eq(raw, eq_expected, kinds, list_node, tree_node)
    elif mode == "sentinel":
        frame = _sn(last, namespace.get(cls_name))
    else:
        frame = None
        if mode == "file_marker" and ok:
            _file(dirfd)
        elif mode == "stdout_marker" and ok:
            try:
                _write(1, marker)
            except OSError:
                pass
    if frame is not None:
        if _state() != state:
            send({"t": "tamper", "why": "signal mask, a signal handler or a trace hook was changed"})
        send(frame)
    send({"t": "done", "exit": status})
    if status:
        try:
            _write(2, b"AssertionError: the real tests failed\n")
        except OSError:
            pass
    return status
