"""Alias resolution: what dotted name an expression refers to, through imports, assignments and obfuscation."""

from __future__ import annotations

import ast
import textwrap

import pytest

from referee.submissions.analysis import Submission, canonical


def resolve(code: str, target: str = "X") -> frozenset[str]:
    """Dotted names of the last assignment to `target` in `code`."""
    sub = Submission(textwrap.dedent(code))
    value = [n for n in sub.nodes(ast.Assign) if any(getattr(t, "id", None) == target for t in n.targets)][-1].value
    return sub.resolver.qualnames(value)


@pytest.mark.parametrize("code, expected", [
    ("import torch as T\nX = T.cuda.Event", "torch.cuda.Event"),
    ("import torch.cuda\nX = torch.cuda.synchronize", "torch.cuda.synchronize"),
    ("from torch import cuda as c\nX = c.Event", "torch.cuda.Event"),
    ("from time import perf_counter as pc\nX = pc", "time.perf_counter"),
    ("import torch\nE = torch.cuda\nF = E\nX = F.Event.elapsed_time", "torch.cuda.Event.elapsed_time"),
    ("import torch\nX = getattr(torch.cuda, 'Ev' + 'ent')", "torch.cuda.Event"),
    ("import torch\nn = 'cu'\nX = getattr(torch, n + 'da')", "torch.cuda"),
    ("X = __import__('tor' + 'ch')", "torch"),
    ("X = __import__('torch.cuda', fromlist=['Event'])", "torch.cuda"),
    ("X = __import__('torch.cuda')", "torch"),
    ("import importlib\nX = importlib.import_module(''.join(['ti', 'me']))", "time"),
    ("import sys\nX = sys.modules['__main__']", "__main__"),
    ("import sys\nX = sys.modules.get('time')", "time"),
    ("import builtins\nX = vars(builtins)['print']", "builtins.print"),
    ("X = __builtins__['open']", "builtins.open"),
    ("import torch\nX = torch.__dict__['allclose']", "torch.allclose"),
    ("import torch\nX = globals()['torch']", "torch"),
    ("import torch\nev = torch.cuda.Event()\nX = type(ev)", "torch.cuda.Event"),
    ("import torch\nev = torch.cuda.Event()\nX = ev.__class__", "torch.cuda.Event"),
    ("import torch\nX = eval('torch.cuda')", "torch.cuda"),
    ("import operator, torch\nX = operator.attrgetter('cuda.Event')(torch)", "torch.cuda.Event"),
    ("from torch.cuda import *\nX = Event", "torch.cuda.Event"),
    ("X = print", "builtins.print"),
    ("import torch\nX = torch.cuda.streams.Event", "torch.cuda.Event"),
    ("import numpy as np\nX = np.allclose", "numpy.allclose"),
    ("import base64, torch\nX = getattr(torch, base64.b64decode('Y3VkYQ==').decode())", "torch.cuda"),
])
def test_resolves(code, expected):
    assert expected in resolve(code)


def test_several_assignments_give_several_names():
    names = resolve("import time, torch\nT = time.perf_counter\nT = torch.cuda.synchronize\nX = T")
    assert {"time.perf_counter", "torch.cuda.synchronize"} <= names


@pytest.mark.parametrize("code", [
    "def f(print):\n    X = print\n",          # a parameter shadows the builtin
    "print = 3\nX = print\n",                   # a module assignment shadows it too
    "import torch\ndef f():\n    torch = object()\n    X = torch.cuda\n",  # local rebinding
])
def test_shadowed_names_do_not_resolve_to_modules(code):
    names = resolve(code)
    assert "builtins.print" not in names and "torch.cuda" not in names


def test_class_scope_is_skipped_by_methods():
    code = textwrap.dedent("""
        import time
        class K:
            time = None
            def run(self):
                X = time.perf_counter
    """)
    assert "time.perf_counter" in resolve(code)


def test_nested_functions_see_enclosing_aliases():
    code = textwrap.dedent("""
        import torch as T
        def outer():
            E = T.cuda.Event
            def inner():
                X = E.record
            return inner
    """)
    assert "torch.cuda.Event.record" in resolve(code)


def test_calls_are_marked_as_instances_and_cycles_terminate():
    assert resolve("import torch\nX = torch.empty(3)") == frozenset({"torch.empty()"})
    assert resolve("a = b\nb = a\nX = a") == frozenset()


def test_canonical_spellings():
    assert canonical("torch._C._TensorBase.__eq__") == "torch.Tensor.__eq__"
    assert canonical("np.testing.assert_allclose") == "numpy.testing.assert_allclose"
    assert canonical("triton.language") == "triton.language"
