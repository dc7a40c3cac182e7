"""Named evasion routes: each snippet hides a known cheat behind an alias, a computed name, an unusual container
or an indirect call, and must still be reported by the rule named next to it."""

from __future__ import annotations

import pytest
from submission_rule_helpers import assert_fires

EVASIONS = {
"lambda-replay": ("RPL001", """
_c = {}
custom_kernel = lambda data: _c.get(id(data)) or _c.setdefault(id(data), data * 2)
"""),
"weakkey-replay": ("RPL001", """
import weakref
_c = weakref.WeakKeyDictionary()
def custom_kernel(data):
    if data in _c:
        return _c[data]
    _c[data] = out = data.cumsum(0)
    return out
"""),
"contextvar-replay": ("RPL004", """
import contextvars
_cv = contextvars.ContextVar("last", default=None)
def custom_kernel(data):
    last = _cv.get()
    if last is not None:
        return last
    out = data.cumsum(0)
    _cv.set(out)
    return out
"""),
"import-as-submodule": ("PAT001", """
import torch.cuda as tc
tc.synchronize = lambda: None
def custom_kernel(data):
    return data
"""),
"builtins-exec-getattr": ("DYN001", """
import builtins
getattr(builtins, "ex" + "ec")("import torch\\ntorch.allclose = lambda *a, **k: True")
def custom_kernel(data):
    return data
"""),
"globals-builtins-exec": ("DYN001", """
globals()["__builtins__"]["exec"]("x = 1")
def custom_kernel(data):
    return data
"""),
"setitem-dunder": ("INP002", """
import torch
def custom_kernel(data):
    data.__setitem__(slice(None), 0)
    return torch.zeros_like(data)
"""),
"module-dict-write": ("PAT001", """
import torch
torch.cuda.__dict__["synchronize"] = lambda: None
def custom_kernel(data):
    return data
"""),
"vars-update": ("PAT001", """
import torch
vars(torch.cuda).update(synchronize=lambda: None)
def custom_kernel(data):
    return data
"""),
"reference-importlib-concat": ("REF002", """
import importlib
def custom_kernel(data):
    return importlib.import_module("refer" + "ence").ref_kernel(data)
"""),
"reference-star": ("REF002", """
from reference import *
def custom_kernel(data):
    return ref_kernel(data)
"""),
"event-class-replaced": ("PAT001", """
import torch
class FastEvent(torch.cuda.Event):
    def elapsed_time(self, other):
        return 0.001
torch.cuda.Event = FastEvent
def custom_kernel(data):
    return data
"""),
"type-setattr": ("PAT001", """
import torch
type.__setattr__(torch.cuda.Event, "elapsed_time", lambda s, e: 0.0)
def custom_kernel(data):
    return data
"""),
"getframe-globals-write": ("INT002", """
import sys
sys._getframe(1).f_globals["check_implementation"] = lambda *a: (True, "")
def custom_kernel(data):
    return data
"""),
"alias-of-cache": ("RPL001", """
_store = {}
def custom_kernel(data):
    c = _store
    k = data.data_ptr()
    if k in c:
        return c[k]
    c[k] = r = data.exp()
    return r
"""),
"class-attr-cache-via-cls": ("RPL001", """
class K:
    cache = {}
    @classmethod
    def run(cls, data):
        k = id(data)
        if k not in cls.cache:
            cls.cache[k] = data.exp()
        return cls.cache[k]
custom_kernel = K.run
"""),
"self-method-helper": ("RPL001", """
class K:
    def __init__(self):
        self.c = {}
    def _get(self, data):
        return self.c.get(data.data_ptr())
    def __call__(self, data):
        hit = self._get(data)
        if hit is not None:
            return hit
        self.c[data.data_ptr()] = out = data.exp()
        return out
custom_kernel = K()
"""),
"sleep-via-import": ("SNF005", """
__import__("time").sleep(1)
def custom_kernel(data):
    return data
"""),
"env-via-subscript-concat": ("SNF002", """
import os
S = os.environ["POP" + "CORN_SEED"]
def custom_kernel(data):
    return data
"""),
"exit-via-import": ("CHN003", """
def custom_kernel(data):
    __import__("os")._exit(0)
"""),
}


@pytest.mark.parametrize("name", sorted(EVASIONS))
def test_evasion_is_still_caught(name):
    rule_id, code = EVASIONS[name]
    assert_fires(rule_id, code)
