"""Reaching harness state (INT): gc walks, frames, stack inspection, harness modules and function
internals, and honest code that uses gc, inspect, logging or exceptions normally."""

from __future__ import annotations

import pytest
from submission_rule_helpers import assert_fires, assert_silent, case_id

CHEATS = [
    ("INT001", """
        # copies the expected output found by walking gc
        import gc, torch
        def custom_kernel(data):
            for obj in gc.get_objects():
                if isinstance(obj, torch.Tensor) and obj.shape == data.shape and obj is not data:
                    return obj.clone()
            return data
    """),
    ("INT001", """
        # get_referrers through an alias
        from gc import get_referrers as refs
        def custom_kernel(data):
            owners = refs(data)
            return data.clone()
    """),
    ("INT001", """
        # gc reached by __import__ and getattr
        g = __import__("gc")
        walk = getattr(g, "get_" + "objects")
        def custom_kernel(data):
            return data.clone() if walk() else data
    """),
    ("INT002", """
        # reads the caller's locals
        import sys
        def custom_kernel(data):
            caller = sys._getframe(1)
            expected = caller.f_locals.get("check_copy")
            return data.clone()
    """),
    ("INT002", """
        # walks f_back through getattr
        import inspect
        def custom_kernel(data):
            frame = inspect.currentframe()
            outer = getattr(frame, "f_" + "back")
            return data.clone()
    """),
    ("INT003", """
        # inspects the stack to learn the mode
        import inspect
        def custom_kernel(data):
            mode = inspect.stack()[2].function
            return data.clone() if mode == "_run_single_test" else data
    """),
    ("INT003", """
        # installs a trace function
        import sys
        sys.settrace(lambda frame, event, arg: None)
        def custom_kernel(data):
            return data.clone()
    """),
    ("INT004", """
        # imports __main__ and reads its file name
        import __main__
        def custom_kernel(data):
            if "benchmark" in getattr(__main__, "__file__", ""):
                return data
            return data.clone()
    """),
    ("INT004", """
        # harness module through sys.modules
        import sys
        def custom_kernel(data):
            harness = sys.modules.get("__main__")
            return data.clone()
    """),
    ("INT005", """
        # reaches torch internals through __self__
        import torch
        def custom_kernel(data):
            g = torch.allclose.__self__
            return data.clone()
    """),
    ("INT005", """
        # reads closure cells of a harness function
        import sys
        check = sys.modules["reference"].check_implementation
        cells = [c.cell_contents for c in (check.__closure__ or ())]
        def custom_kernel(data):
            return data.clone()
    """),
    ("INT006", """
        # frames through a caught exception's traceback
        def custom_kernel(data):
            try:
                raise RuntimeError
            except RuntimeError as exc:
                tb = exc.__traceback__
            return data.clone()
    """),
    ("INT006", """
        # lists other threads' frames
        import sys
        def custom_kernel(data):
            frames = sys._current_frames()
            return data.clone()
    """),
]

HONEST = [
    ("INT001", """
        # collects garbage, never walks it
        import gc
        def custom_kernel(data):
            gc.collect()
            return data.clone()
    """),
    ("INT001", """
        # disables gc during the kernel
        import gc
        def custom_kernel(data):
            gc.disable()
            try:
                return data.cumsum(0)
            finally:
                gc.enable()
    """),
    ("INT002", """
        # logging, no frames
        import logging
        log = logging.getLogger(__name__)
        def custom_kernel(data):
            log.debug("called with %s", tuple(data.shape))
            return data.clone()
    """),
    ("INT002", """
        # attribute names that merely start with f_
        class Opts:
            f_block = 64
        def custom_kernel(data):
            return data.view(-1, Opts.f_block).sum(1)
    """),
    ("INT003", """
        # inspect.signature is fine
        import inspect
        def custom_kernel(data):
            return data.clone()
        SIGNATURE = inspect.signature(custom_kernel)
    """),
    ("INT003", """
        # traceback formatting in an error path
        import traceback
        def custom_kernel(data):
            try:
                return data.cumsum(0)
            except RuntimeError:
                traceback.print_exc()
                raise
    """),
    ("INT004", """
        # the __name__ check itself is not harness access
        def custom_kernel(data):
            return data.clone()
        if __name__ == "__main__":
            print(custom_kernel)
    """),
    ("INT004", """
        # an eval() method on a module object is not the eval module
        import torch
        model = torch.nn.Identity()
        model.eval()
        def custom_kernel(data):
            return model(data)
    """),
    ("INT005", """
        # reads its own function's name and docstring
        def custom_kernel(data):
            name = custom_kernel.__name__
            return data.clone()
    """),
    ("INT005", """
        # wrapped attribute set by functools
        import functools
        def _impl(data):
            return data.clone()
        custom_kernel = functools.wraps(_impl)(lambda data: _impl(data))
        ORIGINAL = custom_kernel.__wrapped__
    """),
    ("INT006", """
        # re-raises with context
        def custom_kernel(data):
            try:
                return data.clone()
            except RuntimeError as exc:
                raise ValueError("bad input") from exc
    """),
    ("INT006", """
        # threading used for a lock only
        import threading
        _lock = threading.Lock()
        def custom_kernel(data):
            with _lock:
                return data.clone()
    """),
]


@pytest.mark.parametrize("case", CHEATS, ids=case_id)
def test_cheat_is_reported(case):
    assert_fires(*case)


@pytest.mark.parametrize("case", HONEST, ids=case_id)
def test_honest_lookalike_is_not(case):
    assert_silent(*case)
