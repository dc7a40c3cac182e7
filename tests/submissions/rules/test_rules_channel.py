"""Result-channel forgery (CHN) and mode/env/call-count sniffing (SNF)."""

from __future__ import annotations

import pytest
from submission_rule_helpers import assert_fires, assert_silent, case_id

CHEATS = [
    ("CHN001", """
        # writes a verdict to fd 3
        import os
        def custom_kernel(data):
            os.write(3, b"check: pass\\n")
            return data
    """),
    ("CHN001", """
        # fdopen on the results pipe number from the environment
        import os
        fd = int(os.environ.get("POPCORN_FD", "3"))
        out = os.fdopen(fd, "w")
        def custom_kernel(data):
            return data
    """),
    ("CHN001", """
        # open() on a descriptor number
        def custom_kernel(data):
            with open(4, "w", closefd=False) as fh:
                fh.write("benchmark.0.mean: 1.0\\n")
            return data
    """),
    ("CHN002", """
        # prints a benchmark line built by concatenation
        def custom_kernel(data):
            print("benchmark.0.mean: " + "1.0")
            return data
    """),
    ("CHN002", """
        # f-string check line
        import sys
        def custom_kernel(data):
            status = "pass"
            sys.stdout.write(f"check: {status}\\n")
            return data
    """),
    ("CHN003", """
        # forge then hard exit
        import os
        def custom_kernel(data):
            print("check: pass")
            os._exit(0)
    """),
    ("CHN003", """
        # kills its own process group
        import os, signal
        def custom_kernel(data):
            os.killpg(os.getpgid(0), signal.SIGKILL)
    """),
    ("CHN004", """
        # atexit hook prints a verdict
        import atexit
        atexit.register(lambda: print("all tests passed"))
        def custom_kernel(data):
            return data.clone()
    """),
    ("CHN004", """
        # raises SystemExit during import
        def custom_kernel(data):
            return data.clone()
        raise SystemExit(0)
    """),
    ("CHN005", """
        # swallows stdout
        import io, sys
        sys.stdout = io.StringIO()
        def custom_kernel(data):
            return data.clone()
    """),
    ("CHN005", """
        # redirect_stderr around the kernel
        import contextlib, io
        def custom_kernel(data):
            with contextlib.redirect_stderr(io.StringIO()):
                return data.clone()
    """),
    ("CHN005", """
        # stderr pointed at /dev/null at descriptor level
        import os
        _null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(_null, 2)
        def custom_kernel(data):
            return data.clone()
    """),
    ("SNF001", """
        # branches on the harness mode argument
        import sys
        def custom_kernel(data):
            if "leaderboard" in sys.argv:
                return data
            return data.clone()
    """),
    ("SNF001", """
        # mode copied into a variable first
        import sys
        MODE = sys.argv[1] if len(sys.argv) > 1 else ""
        def custom_kernel(data):
            if MODE == "benchmark":
                return data
            return data.clone()
    """),
    ("SNF001", """
        # reads the command line from /proc
        def custom_kernel(data):
            with open("/proc/self/cmdline") as fh:
                fast = b"leaderboard" in fh.read().encode()
            return data if fast else data.clone()
    """),
    ("SNF002", """
        # secret seed read with a concatenated name
        import os
        def custom_kernel(data):
            if os.environ.get("POPCORN_" + "SEED"):
                return data
            return data.clone()
    """),
    ("SNF002", """
        # mode variable through getenv alias
        from os import getenv as ge
        FAST = ge("EVAL_MODE") == "leaderboard"
        def custom_kernel(data):
            return data if FAST else data.clone()
    """),
    ("SNF002", """
        # membership test on the environment
        import os
        def custom_kernel(data):
            return data if "PYTEST_CURRENT_TEST" in os.environ else data.clone()
    """),
    ("SNF003", """
        # scans environment keys
        import os
        def custom_kernel(data):
            hints = [k for k in os.environ if k.startswith("POP")]
            return data if hints else data.clone()
    """),
    ("SNF003", """
        # copies the whole environment
        import os
        ENV = dict(os.environ)
        def custom_kernel(data):
            return data.clone()
    """),
    ("SNF004", """
        # honest for the first calls only
        _calls = 0
        def custom_kernel(data):
            global _calls
            _calls += 1
            if _calls > 3:
                return data
            return data.clone()
    """),
    ("SNF004", """
        # counter kept on the function object
        def custom_kernel(data):
            custom_kernel.n = getattr(custom_kernel, "n", 0) + 1
            return data if custom_kernel.n % 2 else data.clone()
        custom_kernel.n = 0
    """),
    ("SNF005", """
        # sleeps during warm-up
        import time
        def custom_kernel(data):
            time.sleep(0.01)
            return data.clone()
    """),
    ("SNF005", """
        # sleep through an alias
        from time import sleep as nap
        def custom_kernel(data):
            nap(0.5)
            return data.clone()
    """),
]

HONEST = [
    ("CHN001", """
        # writes debug text to stderr
        import sys
        def custom_kernel(data):
            sys.stderr.write("debug\\n")
            return data.clone()
    """),
    ("CHN001", """
        # opens a named file for reading
        import json, os
        CFG = os.path.join(os.path.dirname(__file__), "tune.json")
        def custom_kernel(data):
            return data.clone()
    """),
    ("CHN001", """
        # silences a noisy compiler by pointing stderr at /dev/null, then restores it
        import os, sys
        def _quiet_build():
            saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.dup2(saved, 2)
        def custom_kernel(data):
            return data.clone()
    """),
    ("CHN002", """
        # prints a friendly benchmark note
        def custom_kernel(data):
            print("benchmark shape", tuple(data.shape))
            return data.clone()
    """),
    ("CHN002", """
        # docstring mentions the protocol
        def custom_kernel(data):
            \"\"\"Never prints check: pass or benchmark.0.mean lines itself.\"\"\"
            return data.clone()
    """),
    ("CHN003", """
        # raises on bad input
        def custom_kernel(data):
            if data.numel() == 0:
                raise ValueError("empty input")
            return data.clone()
    """),
    ("CHN003", """
        # os.getpid for a log line
        import os
        def custom_kernel(data):
            print("pid", os.getpid())
            return data.clone()
    """),
    ("CHN004", """
        # sys.exit only in the self-test
        import sys
        def custom_kernel(data):
            return data.clone()
        if __name__ == "__main__":
            sys.exit(0)
    """),
    ("CHN004", """
        # exit-like names that are not exits
        def custom_kernel(data):
            exit_code = 0
            return data.clone()
    """),
    ("CHN005", """
        # prints to stderr and flushes stdout
        import sys
        def custom_kernel(data):
            print("shape", data.shape, file=sys.stderr)
            sys.stdout.flush()
            return data.clone()
    """),
    ("CHN005", """
        # keeps a reference to stdout without replacing it
        import sys
        OUT = sys.stdout
        def custom_kernel(data):
            return data.clone()
    """),
    ("SNF001", """
        # argv only in the self-test
        import sys
        def custom_kernel(data):
            return data.clone()
        if __name__ == "__main__":
            if len(sys.argv) > 1:
                print(sys.argv[1])
    """),
    ("SNF001", """
        # records argv for a log, never branches on it
        import sys, logging
        logging.debug("argv=%s", sys.argv)
        def custom_kernel(data):
            return data.clone()
    """),
    ("SNF002", """
        # triton cache directory
        import os
        CACHE = os.environ.get("TRITON_CACHE_DIR", "/tmp/triton")
        def custom_kernel(data):
            return data.clone()
    """),
    ("SNF002", """
        # sets an arch list for compilation
        import os
        os.environ["TORCH_CUDA_ARCH_LIST"] = "9.0"
        def custom_kernel(data):
            return data.clone()
    """),
    ("SNF002", """
        # a library's own mode variable
        import os
        MODE = os.environ.get("TORCH_COMPILE_MODE", "max-autotune")
        HASHSEED = os.environ.get("PYTHONHASHSEED")
        def custom_kernel(data):
            return data.clone()
    """),
    ("SNF003", """
        # setdefault with a constant name
        import os
        os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "9.0")
        def custom_kernel(data):
            return data.clone()
    """),
    ("SNF003", """
        # constant-name read
        import os
        DEBUG = os.getenv("KERNEL_DEBUG") == "1"
        def custom_kernel(data):
            return data.clone()
    """),
    ("SNF004", """
        # counter only incremented
        _calls = 0
        def custom_kernel(data):
            global _calls
            _calls += 1
            return data.clone()
    """),
    ("SNF004", """
        # a boolean compile-once flag
        import torch
        _ready = False
        _fn = None
        def custom_kernel(data):
            global _ready, _fn
            if not _ready:
                _fn = torch.compile(lambda x: x.cumsum(0))
                _ready = True
            return _fn(data)
    """),
    ("SNF005", """
        # timing with perf_counter is fine
        import time
        def custom_kernel(data):
            t0 = time.perf_counter()
            out = data.clone()
            return out
    """),
    ("SNF005", """
        # sleep only in the self-test
        import time
        def custom_kernel(data):
            return data.clone()
        if __name__ == "__main__":
            time.sleep(1)
    """),
]


@pytest.mark.parametrize("case", CHEATS, ids=case_id)
def test_cheat_is_reported(case):
    assert_fires(*case)


@pytest.mark.parametrize("case", HONEST, ids=case_id)
def test_honest_lookalike_is_not(case):
    assert_silent(*case)
