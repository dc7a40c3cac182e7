"""The probe job's environment: private temp and cache dirs, and the libraries the submission imports.

The environment is never the suspect. A compiler that cannot write its cache, a user name the job's uid lacks, a
library whose import-time side effects look like tampering (torch.compile wraps `torch.manual_seed` and registers
config modules in `sys.modules`) would otherwise be reported against an honest submission. So the driver gives
each job writable dirs beneath its work dir and imports, in the trusted phase before the first integrity snapshot,
the installed modules the submission names; the names that are not installed make an import failure DEGRADED.
"""

from __future__ import annotations

import importlib
import os

#: per-job private cache dirs (beneath the sandbox's writable work dir): compilers must never fail for a cache path
CACHE_ENV = {"TMPDIR": "tmp", "XDG_CACHE_HOME": "cache", "TORCHINDUCTOR_CACHE_DIR": "cache/torchinductor",
             "TRITON_CACHE_DIR": "cache/triton", "TORCH_EXTENSIONS_DIR": "cache/torch_extensions",
             "CUDA_CACHE_PATH": "cache/nv", "NUMBA_CACHE_DIR": "cache/numba"}


def private_dirs(root: str) -> None:
    """Writable temp and cache dirs for this job, and a user name (the job's uid has no passwd entry).

    Set by the driver even where the sandbox already exports some: an existing value is kept only when it is a
    writable directory. `tempfile` caches its directory in the fork server, so it is reset here too.
    """
    import tempfile

    for name, sub in CACHE_ENV.items():
        current = os.environ.get(name)
        if current and os.path.isdir(current) and os.access(current, os.W_OK):
            continue
        path = os.path.join(root, ".referee", sub)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError:
            continue
        os.environ[name] = path
    os.environ.setdefault("HOME", root)
    for name in ("USER", "LOGNAME"):
        os.environ.setdefault(name, "referee")  # getpass.getuser() (inductor's cache path) reads these first
    tempfile.tempdir = None


#: libraries whose import or first use installs process-wide state (torch.compile wraps torch.manual_seed and adds
#: config modules to sys.modules); imported before the first integrity snapshot when the submission uses them
COMPILE_STACK = ("torch._dynamo", "torch._inductor", "torch._inductor.config", "torch._inductor.config_comms",
                 "torch._functorch.config", "torch._inductor.compile_fx")
LOCAL_MODULES = {"submission", "reference", "task", "utils", "eval"}


def prewarm(path: str) -> list[str]:
    """Import, in the trusted phase, the installed modules the submission imports (read with ast, never run).

    Their import-time side effects then belong to the environment (the pre-import snapshot), not to the
    submission. Returns the names that are not installed: a submission that needs them is DEGRADED, not FAIL.
    """
    import ast

    try:
        with open(path, "rb") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Attribute) and node.attr == "compile" and isinstance(node.value, ast.Name) \
                and node.value.id == "torch":
            names.extend(COMPILE_STACK)
    missing = []
    for name in dict.fromkeys(names):
        if name.split(".")[0] in LOCAL_MODULES:
            continue
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            missing.append(str(exc.name or name))
        except BaseException:  # a library that fails to import fails again, visibly, in the submission
            continue
    return missing
