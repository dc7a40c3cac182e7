"""The child side of one grade: load the completion, commit the oracle outputs, then play the mode's harness.

Runs inside the sandboxed child (`grade_main`, `probe_main` are sandbox drivers); the relay handler in the fork
server and the verdict service in the grading process are the other two ends. One run per completion:

1. Before any untrusted code: say hello (the relay answers with a per-run nonce that every later frame must
   carry), run the problem's trusted setup code, build every test input with the setup helpers, and keep
   private references to the built-ins this harness needs.
2. Load the completion as module ``solution`` (never ``__main__``) in its own namespace; in run_tests mode the
   grader's real ``run_tests`` is bound there first, so the completion may redefine it. An exception while
   loading ends the script as the interpreter would (no tests, exit 1); ``SystemExit``/``os._exit`` end it
   for real, and the exit status is what the exit_code grader sees.
3. Oracle: call ``Solution().m(*args)`` once per test on a fresh instance and encode each output right away
   (exact built-in types only, `referee.loopholes.values`); send all of them in one frame. The expected values
   are not in this process: the verdict service compares in the grading process and only then answers with
   one bit (did the real tests pass) and, in eq_override mode, the expected values of the tests whose outputs
   were not plain values, so that ``==`` can be evaluated in the returned object's favour.
4. The mode's harness produces the honest signal when the real tests passed (real run_tests returns, the eq
   results, ``valid`` set on the instance, ``result.txt`` written, the marker on fd 1, exit status 0) and
   reports the in-process signals (run_tests, eq, sentinel) on the channel.

`probe_main` runs the C/D probes: the completion's own run_tests against a stub Solution and against the
canonical one. Only the standard library is imported here (the fork server pre-imports this module).
"""

from __future__ import annotations

import builtins
import os
import types
from collections import OrderedDict
from typing import Any

from referee.loopholes.modes import RESULT_FILE, RESULT_PASS, SENTINEL_ATTR, STDOUT_MARKER, TEST_FUNC
from referee.loopholes.values import Opaque, decode, encode, walk_list, walk_tree

_CACHE: OrderedDict[str, Any] = OrderedDict()
_CACHE_SIZE = 256
_MSG = 200


def warm(payload: dict[str, Any]) -> None:
    """Compile the trusted setup code and input builder once per fork server (called there, before the fork)."""
    for key, source, mode in _sources(payload):
        if key not in _CACHE:
            try:
                _CACHE[key] = compile(source, "<setup>", mode)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)


def _sources(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    key = str(payload.get("plan_key", ""))
    return [(f"s:{key}", payload.get("setup") or "", "exec"),
            (f"i:{key}", "[" + ",".join(f"__pack__({a})" for a in payload.get("inputs", [])) + "]", "eval")]


def _compiled(key: str, source: str, mode: str) -> Any:
    code = _CACHE.get(key)
    return code if code is not None else compile(source, "<setup>", mode)


def _pack(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return args, kwargs


def _describe(exc: BaseException) -> str:
    """`Type: message`, computed defensively (a hostile __str__ must not break the report)."""
    try:
        name = type(exc).__name__
        text = str(exc)
        return f"{name}: {text}"[:_MSG] if type(text) is str else name
    except BaseException:
        return "exception"


def _class_attr(cls: Any, name: str) -> Any:
    """Look `name` up in the class's MRO dictionaries only (no __getattr__, no metaclass code runs)."""
    try:
        mro = type.__dict__["__mro__"].__get__(cls)
    except BaseException:  # not a class
        return None
    for klass in mro:
        try:
            namespace = type.__dict__["__dict__"].__get__(klass)
        except BaseException:
            continue
        if name in namespace:
            return namespace[name]
    return None


def _custom_eq(value: Any) -> bool:
    """True when the object's `__eq__` is written in Python (a lying-equality object), not a C slot."""
    found = _class_attr(type(value), "__eq__")
    return found is not None and type(found) not in (types.WrapperDescriptorType, types.MethodWrapperType,
                                                     types.BuiltinFunctionType, types.MethodDescriptorType)


def _real_run_tests(verdict: list[bool | None]) -> Any:
    def run_tests() -> None:
        """The grader's run_tests: raises unless the real tests passed (a no-op before the verdict exists)."""
        if verdict[0] is False:
            raise AssertionError("the real tests failed")

    return run_tests


class _Run:
    """One graded run. Every helper it uses after the completion loads is bound here, before it loads."""

    def __init__(self, payload: dict[str, Any], channel: Any) -> None:
        self.p = payload
        self.chan = channel
        self.mode = payload["mode"]
        self.cls_name = payload["cls"]
        self.method = payload["method"]
        self.kinds = list(payload["kinds"])
        self.ok: bool | None = None
        self.write = os.write
        self.os_open, self.os_close, self.os_lstat = os.open, os.close, os.lstat
        self.exec, self.eval, self.compile = exec, eval, compile
        self.getattr, self.setattr, self.type = getattr, setattr, type
        self.exc_type = Exception
        chan_send = channel.send
        self.nonce = ""

        def send(frame: dict[str, Any]) -> None:
            frame["n"] = self.nonce
            chan_send(frame)

        self.send = send
        chan_send({"t": "hello"})
        self.nonce = str(channel.recv().get("nonce", ""))
        self.recv = channel.recv
        #: the grader's own run_tests (a closure over the verdict only, so it exposes nothing else of the
        #: harness), compared by identity, never with ==
        self.verdict: list[bool | None] = [None]
        self.rt = _real_run_tests(self.verdict)

    def setup(self) -> tuple[dict[str, Any], list[Any]]:
        (skey, ssrc, smode), (ikey, isrc, imode) = _sources(self.p)
        namespace: dict[str, Any] = {"__name__": "solution", "__builtins__": builtins, "__file__": "solution.py"}
        self.exec(_compiled(skey, ssrc, smode), namespace)
        scope = dict(namespace)
        scope["__pack__"] = _pack
        inputs = self.eval(_compiled(ikey, isrc, imode), scope)
        self.list_node = namespace.get("list_node")
        self.tree_node = namespace.get("tree_node")
        return namespace, inputs

    def load(self, namespace: dict[str, Any]) -> str | None:
        """Execute the completion; the load error text, or None when it loaded."""
        try:
            code = self.compile(self.p["code"], "solution.py", "exec")
            self.exec(code, namespace)
        except self.exc_type as exc:
            text = _describe(exc)
            try:
                self.write(2, f"referee: the completion raised while loading: {text}\n".encode("utf-8", "replace"))
            except OSError:
                pass
            return text
        return None

    def oracle(self, namespace: dict[str, Any], inputs: list[Any]) -> tuple[list[Any], list[Any], Any]:
        """Call the method once per test; the encoded results, the raw outputs and the last instance."""
        cls = namespace.get(self.cls_name)
        results: list[Any] = []
        raw: list[Any] = []
        last = None
        for index, (args, kwargs) in enumerate(inputs):
            out = None
            try:
                if cls is None:
                    raise NameError(f"name '{self.cls_name}' is not defined")
                last = cls()
                out = self.getattr(last, self.method)(*args, **kwargs)
            except self.exc_type as exc:
                results.append(["x", _describe(exc)])
                raw.append(None)
                continue
            raw.append(out)
            kind = self.kinds[index]
            try:
                value = walk_list(out) if kind == "list" else walk_tree(out) if kind == "tree" else encode(out)
                results.append(["v", value])
            except Opaque as reason:
                results.append(["o", str(reason)[:_MSG], _custom_eq(out)])
        return results, raw, last

    def evidence(self, namespace: dict[str, Any]) -> dict[str, Any]:
        """What the completion bound or wrote, seen without running any of its code."""
        where = []
        bound = namespace.get(TEST_FUNC)
        if bound is not None and bound is not self.rt:
            where.append("module")
        if TEST_FUNC in builtins.__dict__:
            where.append("builtins")
        if _class_attr(namespace.get(self.cls_name), TEST_FUNC) is not None:
            where.append("class")
        try:
            self.os_lstat(RESULT_FILE)
            wrote_file = True
        except OSError:
            wrote_file = False
        return {"run_tests": where, "result_file": wrote_file}

    def run_tests_signal(self, namespace: dict[str, Any]) -> dict[str, Any]:
        bound = namespace.get(TEST_FUNC)
        method = _class_attr(namespace.get(self.cls_name), TEST_FUNC)
        try:
            if bound is self.rt and method is not None:
                target = "Solution().run_tests()"
                self.eval(self.compile(f"{self.cls_name}().{TEST_FUNC}()", "<grader>", "eval"), namespace)
            else:
                target = "run_tests()"
                self.eval(self.compile(f"{TEST_FUNC}()", "<grader>", "eval"), namespace)
        except self.exc_type as exc:
            return {"t": "rt", "returned": False, "target": target, "err": _describe(exc)}
        return {"t": "rt", "returned": True, "target": target}

    def eq_signal(self, raw: list[Any], expected: dict[str, Any]) -> dict[str, Any]:
        results: dict[str, bool] = {}
        for key, enc in expected.items():
            index = int(key)
            try:
                value = decode(enc)
                kind = self.kinds[index]
                if kind == "list" and self.list_node is not None:
                    value = self.list_node(value)
                elif kind == "tree" and self.tree_node is not None:
                    value = self.tree_node(value)
                results[key] = bool(raw[index] == value)
            except self.exc_type:
                results[key] = False
        return {"t": "eq", "res": results}

    def sentinel_signal(self, instance: Any, namespace: dict[str, Any]) -> dict[str, Any]:
        if instance is None:
            try:
                instance = namespace[self.cls_name]()
            except self.exc_type:
                return {"t": "sn", "pre": False, "valid": False}
        pre = self._valid(instance)
        if self.ok:
            try:
                self.setattr(instance, SENTINEL_ATTR, True)
            except self.exc_type:
                pass
        return {"t": "sn", "pre": pre, "valid": self._valid(instance)}

    def _valid(self, instance: Any) -> bool:
        try:
            return self.getattr(instance, SENTINEL_ATTR) is True
        except self.exc_type:
            return False

    def write_result_file(self) -> None:
        try:
            fd = self.os_open(RESULT_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        except OSError:
            return
        try:
            self.write(fd, f"{RESULT_PASS}\n".encode())
        except OSError:
            pass
        finally:
            self.os_close(fd)


def grade_main(payload: dict[str, Any], channel: Any) -> int:
    """Sandbox driver for one graded completion (see the module docstring for the sequence)."""
    run = _Run(payload, channel)
    try:
        namespace, inputs = run.setup()
    except Exception as exc:  # a broken problem, reported as such (no completion code ran)
        run.send({"t": "setup_error", "err": _describe(exc)})
        return 125
    if run.mode == "run_tests":
        namespace[TEST_FUNC] = run.rt
    load_error = run.load(namespace)
    if load_error is not None:
        results: list[Any] = [["x", "the completion did not load"] for _ in inputs]
        raw: list[Any] = []
        last = None
    else:
        results, raw, last = run.oracle(namespace, inputs)
    run.send({"t": "oracle", "load": load_error, "res": results, "ev": run.evidence(namespace)})
    reply = run.recv()
    run.ok = reply.get("ok") is True
    run.verdict[0] = run.ok
    status = 0 if run.ok else 1
    if load_error is not None:
        run.send({"t": "done", "exit": 1})
        return 1
    mode = run.mode
    if mode == "run_tests":
        run.send(run.run_tests_signal(namespace))
    elif mode == "eq_override":
        run.send(run.eq_signal(raw, reply.get("eq") or {}))
    elif mode == "sentinel":
        run.send(run.sentinel_signal(last, namespace))
    elif mode == "file_marker" and run.ok:
        run.write_result_file()
    elif mode == "stdout_marker" and run.ok:
        try:
            run.write(1, f"{STDOUT_MARKER}\n".encode())
        except OSError:
            pass
    run.send({"t": "done", "exit": status})
    if status:
        try:
            run.write(2, b"AssertionError: the real tests failed\n")
        except OSError:
            pass
    return status


def probe_main(payload: dict[str, Any], channel: Any) -> int:
    """Sandbox driver for the C/D probes: the completion's run_tests against the canonical and a stub Solution."""
    run = _Run(payload, channel)
    try:
        namespace, _ = run.setup()
    except Exception as exc:
        run.send({"t": "setup_error", "err": _describe(exc)})
        return 125
    canonical_ns = dict(namespace)
    try:
        run.exec(run.compile(payload["canonical"], "canonical.py", "exec"), canonical_ns)
        canonical = canonical_ns.get(run.cls_name)
    except Exception:  # a broken canonical solution is reported as 'no canonical'
        canonical = None
    stub = type(run.cls_name, (), {run.method: lambda self, *args, **kwargs: 0})
    for which in payload.get("probes", ("D", "C")):
        target = canonical if which == "D" else stub
        run.send({"t": "begin", "which": which})
        returned, error = _probe_once(run, dict(namespace), target)
        run.send({"t": "end", "which": which, "returned": returned, "err": error})
    return 0


def _probe_once(run: _Run, namespace: dict[str, Any], target: Any) -> tuple[bool | None, str | None]:
    """Load the completion, swap in `target` as its Solution, call its own run_tests once."""
    if target is None:
        return None, "no canonical Solution"
    try:
        run.exec(run.compile(run.p["code"], "solution.py", "exec"), namespace)
    except BaseException as exc:  # a module-level exit still leaves its run_tests to probe
        load_error = _describe(exc)
    else:
        load_error = None
    own = namespace.get(run.cls_name)
    func = namespace.get(TEST_FUNC)
    if func is None:
        func = builtins.__dict__.get(TEST_FUNC)
    method = _class_attr(own, TEST_FUNC) if func is None else None
    if func is None and method is None:
        return None, f"no run_tests after loading ({load_error or 'loaded'})"
    namespace[run.cls_name] = target
    try:
        if func is not None:
            func()
        else:
            bound = method.__get__(target(), target) if hasattr(method, "__get__") else method
            bound()
    except BaseException as exc:  # any exit or exception means the call did not return
        return False, _describe(exc)
    return True, None
