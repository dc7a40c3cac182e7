"""The submission model's data flow: scopes, entry points, persistent state, taint, where returned values come
from, covering writes, and attribute writes."""

from __future__ import annotations

import ast
import textwrap

import pytest

from referee.submissions.analysis import Container, Submission


def model(code: str) -> Submission:
    return Submission(textwrap.dedent(code))


def entry_returns(sub: Submission) -> list[set[str]]:
    """Origin kinds of each return of the first entry point (after covering writes are applied)."""
    entry = sub.flow.entries[0]
    return [{o.kind for o in origins} for _, origins in sub.flow.return_origins(entry.function)]


# -- source and scopes -----------------------------------------------------------------------------------------
def test_decorators_and_defaults_run_in_the_enclosing_scope():
    sub = model("""
        import functools
        def outer():
            @functools.lru_cache(maxsize=None)
            def inner(x, y=len([])):
                return x
            return inner
    """)
    inner = next(f for f in sub.nodes(ast.FunctionDef) if f.name == "inner")
    outer = next(f for f in sub.nodes(ast.FunctionDef) if f.name == "outer")
    assert sub.scope_of(inner.decorator_list[0]) is outer
    assert sub.scope_of(inner.args.defaults[0]) is outer
    assert sub.scope_of(inner.body[0]) is inner
    assert inner in sub.own_nodes(outer) and inner.body[0] not in sub.own_nodes(outer)


def test_main_guard_detection_and_snippets():
    sub = model("""
        x = 1
        if __name__ == "__main__":
            y = 2
        else:
            z = 3
    """)
    assigns = sub.nodes(ast.Assign)
    assert [sub.main_guarded(a) for a in assigns] == [False, True, False]
    assert sub.snippet(assigns[1]) == "y = 2"
    assert model("__name__ = 'x'\nif __name__ == '__main__':\n    y = 2\n").main_guarded(
        model("").tree) is False


def test_scopes_bindings_globals_and_nonlocals():
    sub = model("""
        import torch as T
        counter = 0
        def f(a, b=[]):
            global counter
            counter += 1
            def g():
                nonlocal a
                a = 2
            return g
    """)
    scopes = sub.scopes
    f = sub.module_function("f")
    assert set(scopes.by_node[f].params) == {"a", "b"}
    assert "counter" in scopes.by_node[f].globals
    assert scopes.module.bindings["T"][0].qualname == "torch"
    g = next(n for n in sub.nodes(ast.FunctionDef) if n.name == "g")
    assert scopes.defining_scope("a", scopes.by_node[g]) is scopes.by_node[f]


# -- entry points ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code, name", [
    ("def custom_kernel(data):\n    return data\n", "custom_kernel"),
    ("import torch\ndef _k(data):\n    return data\ncustom_kernel = torch.compile(_k)\n", "_k"),
    ("import functools\ndef _k(data, scale):\n    return data\ncustom_kernel = functools.partial(_k, scale=2)\n", "_k"),
    ("class R:\n    def __call__(self, data):\n        return data\ncustom_kernel = R()\n", "__call__"),
    ("def make():\n    def run(data):\n        return data\n    return run\ncustom_kernel = make()\n", "run"),
    ("custom_kernel = lambda data: data\n", "<lambda>"),
    ("class R:\n    def run(self, data):\n        return data\ncustom_kernel = R().run\n", "run"),
    ("def _k(data):\n    return data\nglobals()['custom_' + 'kernel'] = _k\n", "_k"),
    ("import sys\ndef _k(data):\n    return data\nsetattr(sys.modules[__name__], 'custom_kernel', _k)\n", "_k"),
])
def test_entry_point_resolution(code, name):
    entries = model(code).flow.entries
    assert [getattr(e.function, "name", "<lambda>") for e in entries] == [name]
    assert entries[0].resolved and entries[0].inputs[0] == "data"


def test_unresolved_entry_falls_back_to_top_level_functions():
    entries = model("def a(x):\n    return x\nclass K:\n    def forward(self, x):\n        return x\n").flow.entries
    assert [e.function.name for e in entries] == ["a", "forward"]
    assert not any(e.resolved for e in entries)


# -- persistent state ----------------------------------------------------------------------------------------------
def test_containers_and_runtime_stores():
    sub = model("""
        import functools
        _g = {}
        def make():
            cache = {}
            def run(data, memo={}):
                cache[1] = data
                memo[2] = data
                _g[3] = data
                run.attr = data
                return data
            return run
        class K:
            def __init__(self):
                self.out = None
            def __call__(self, data):
                self.out = data
                return data
        def _impl(data, store):
            store[0] = data
        custom_kernel = functools.partial(_impl, store={})
    """)
    stores = sub.flow.state.stores
    assert {Container("global", "", "_g"), Container("closure", "make", "cache"), Container("param", "run", "memo"),
            Container("attr", "run", "attr"), Container("attr", "K", "out"),
            Container("param", "_impl", "store")} <= set(stores)


def test_counters():
    sub = model("""
        n = 0
        def f(x):
            global n
            n += 1
            f.calls = getattr(f, "calls", 0) + 1
            return x
    """)
    assert sub.flow.state.counters == {Container("global", "", "n"), Container("attr", "f", "calls")}


# -- taint and origins ------------------------------------------------------------------------------------------------
def test_taint_values_versus_shapes():
    sub = model("""
        def custom_kernel(data):
            a, b = data
            m = a.shape[0]
            s = a.sum()
            z = b.new_zeros(m)
            return z
    """)
    fn = sub.flow.entries[0].function
    assert {"a", "b", "m", "s", "z"} <= sub.flow.tainted(fn)
    values = sub.flow.tainted(fn, values_only=True)
    assert {"a", "b", "s"} <= values and not {"m", "z"} & values


@pytest.mark.parametrize("code, kinds", [
    ("_c = {}\ndef custom_kernel(data):\n    k = id(data)\n    if k in _c:\n        return _c[k]\n"
     "    _c[k] = data * 2\n    return _c[k]\n", [{"read"}, set()]),
    ("import torch\ndef custom_kernel(data):\n    return torch.empty_like(data)\n", [{"alloc"}]),
    ("import torch\ndef custom_kernel(data):\n    out = torch.empty_like(data)\n    out.copy_(data)\n"
     "    return out\n", [set()]),
    ("import torch\ndef custom_kernel(data):\n    return torch.rand(3)\n", [{"rng"}]),
    ("import torch\nT = torch.tensor([1.0] * 4 + [2.0])\ndef custom_kernel(data):\n    return T\n",
     [{"fresh", "literal"}]),
    ("import torch\nT = torch.tensor([1.0, 2.0, 3.0])\ndef custom_kernel(data):\n    return T.clone()\n",
     [{"literal", "fresh"}]),
    ("def custom_kernel(data):\n    return data\n", [{"input"}]),
    ("def _h(x):\n    return x\ndef custom_kernel(data):\n    return _h(data)\n", [{"input"}]),
])
def test_return_origins(code, kinds):
    assert entry_returns(model(code)) == kinds


def test_literal_origin_counts_numbers():
    sub = model("import torch\nT = torch.tensor([[1, 2], [3, 4]])\ndef custom_kernel(data):\n    return T\n")
    origins = sub.flow.return_origins(sub.flow.entries[0].function)[0][1]
    assert max(o.size for o in origins if o.kind == "literal") == 4


def test_read_origin_carries_container_and_key():
    sub = model("_c = {}\ndef custom_kernel(data):\n    _c[0] = 1\n    return _c.get(data.data_ptr())\n")
    (origin,) = sub.flow.return_origins(sub.flow.entries[0].function)[0][1]
    assert origin.kind == "read" and origin.container == Container("global", "", "_c")
    assert ast.unparse(origin.key) == "data.data_ptr()"


def test_covered_requires_every_path():
    conditional = model("""
        _o = {}
        def custom_kernel(data):
            out = _o.get(0)
            if data.numel() > 10:
                out.copy_(data)
            return out
        def _store(x):
            _o[0] = x
    """)
    both = model("""
        _o = {}
        def custom_kernel(data):
            out = _o.get(0)
            if data.numel() > 10:
                out.copy_(data)
            else:
                out.copy_(data * 2)
            return out
        def _store(x):
            _o[0] = x
    """)
    assert entry_returns(conditional) == [{"read"}]
    assert entry_returns(both) == [set()]


# -- writes ---------------------------------------------------------------------------------------------------------
def test_writes_resolve_targets():
    sub = model("""
        import torch as T, sys, builtins
        from unittest import mock
        E = T.cuda.Event
        E.elapsed_time = None
        setattr(getattr(T, "cu" + "da"), "synchronize", None)
        sys.modules["time"] = object()
        vars(builtins)["print"] = None
        mock.patch("time.perf_counter", None)
        del T.allclose
        type(T.cuda.Event()).record = None
        sys.meta_path.insert(0, None)
    """)
    targets = set()
    for write in sub.writes:
        targets |= write.targets
    assert {"torch.cuda.Event.elapsed_time", "torch.cuda.synchronize", "sys.modules[time]", "builtins.print",
            "time.perf_counter", "torch.allclose", "torch.cuda.Event.record", "sys.meta_path"} <= targets
