"""Native code, processes and files (NAT) and dynamic code / encoded payloads (DYN)."""

from __future__ import annotations

import base64
import bz2
import zlib

import pytest
from submission_rule_helpers import assert_fires, assert_silent, case_id, scan

TIMER_PATCH = b"import torch\ntorch.cuda.Event.elapsed_time = lambda s, e: 0.001\n"
B64_ZLIB = base64.b64encode(zlib.compress(TIMER_PATCH)).decode()
B64_BZ2 = base64.b64encode(bz2.compress(b"import os\nos.write(3, b'check: pass')\n")).decode()
HEX = TIMER_PATCH.hex()

CHEATS = [
    ("NAT001", """
        # ctypes loaded
        import ctypes
        def custom_kernel(data):
            lib = ctypes.CDLL(None)
            return data.clone()
    """),
    ("NAT001", """
        # cffi imported dynamically
        import importlib
        ffi_mod = importlib.import_module("cffi")
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT002", """
        # frame locals pushed through the C API
        import ctypes
        def custom_kernel(data):
            ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(None), ctypes.c_int(0))
            return data
    """),
    ("NAT002", """
        # raw memory write at an address
        import ctypes
        def custom_kernel(data):
            ctypes.memset(data.data_ptr(), 0, 4)
            return data
    """),
    ("NAT002", """
        # libc mprotect through ctypes
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        def custom_kernel(data):
            libc.mprotect(0, 4096, 7)
            return data
    """),
    ("NAT002", """
        # cudart timer symbol by name
        import ctypes
        cudart = ctypes.CDLL("libcudart.so")
        fn = cudart.cudaEventElapsedTime
        def custom_kernel(data):
            return data
    """),
    ("NAT003", """
        # shell command at import
        import subprocess
        subprocess.run(["nvidia-smi", "-lgc", "1980"])
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT003", """
        # os.system through an alias
        from os import system as sh
        sh("echo hi")
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT004", """
        # pip install via os.system
        import os
        os.system("pip install fast-kernels==0.1")
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT004", """
        # pip install via subprocess argument list
        import subprocess, sys
        subprocess.check_call([sys.executable, "-m", "pip", "install", "evil"])
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT005", """
        # writes time.py next to the harness
        with open("time.py", "w") as fh:
            fh.write("perf_counter = lambda: 0.0\\n")
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT005", """
        # drops a .pth file into site-packages
        import pathlib, site
        pathlib.Path(site.getsitepackages()[0], "zz.pth").write_text("import hack\\n")
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT006", """
        # persisting L2 window
        SRC = '''
        cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize, 40 << 20);
        attr.accessPolicyWindow.hitProp = cudaAccessPropertyPersisting;
        '''
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT006", """
        # persisting access property through cuda-python names
        from cuda import cudart
        PROP = cudart.cudaAccessProperty.cudaAccessPropertyPersisting
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN001", """
        # exec of a plain source string
        SRC = "def custom_kernel(data):\\n    return data.clone()\\n"
        exec(SRC)
    """),
    ("DYN001", """
        # writes generated Python to import later
        def _emit(src):
            with open("generated_kernel.py", "w") as fh:
                fh.write(src)
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN001", """
        # eval through an alias of builtins
        import builtins
        run = builtins.eval
        def custom_kernel(data):
            return run("data.clone()", {"data": data})
    """),
    ("DYN002", f"""
        # zlib+base64 payload executed
        import base64, zlib
        exec(zlib.decompress(base64.b64decode("{B64_ZLIB}")))
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN002", """
        # reversed string executed
        code = "))(tnuoc_frep.emit(tnirp ;emit tropmi"[::-1]
        exec(code)
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN002", """
        # chr-built source compiled
        src = "".join(chr(c) for c in [112, 97, 115, 115])
        exec(compile(src, "<x>", "exec"))
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN002", """
        # marshalled code object loaded
        import marshal
        def custom_kernel(data):
            fn = marshal.loads(bytes.fromhex("e3000000"))
            return data.clone()
    """),
    ("DYN003", """
        # computed module name
        import importlib
        mod = importlib.import_module("ti" + "me")
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN003", """
        # reload a module the harness holds
        import importlib, torch
        importlib.reload(torch)
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN004", f"""
        # base64 python payload kept in a constant
        PAYLOAD = "{base64.b64encode(b'import time' + chr(10).encode() + b'time.perf_counter = lambda: 0.0').decode()}"
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN004", f"""
        # hex-encoded payload
        BLOB = "{HEX}"
        def custom_kernel(data):
            return data.clone()
    """),
]

HONEST = [
    ("NAT001", """
        # torch extension, no ctypes
        import torch.utils.cpp_extension as ext
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT001", """
        # a name containing ctypes is not ctypes
        my_ctypes_table = {"f": 4}
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT002", """
        # aten op, no native access
        import torch
        def custom_kernel(data):
            return torch.ops.aten.cumsum(data, 0)
    """),
    ("NAT002", """
        # docstring that mentions mprotect is not code
        def custom_kernel(data):
            \"\"\"Unlike exploits that mprotect or dlsym, this just clones.\"\"\"
            return data.clone()
    """),
    ("NAT002", """
        # cubin launcher through the CUDA driver with ctypes argument packing
        import ctypes
        _cuda = ctypes.CDLL("libcuda.so.1")
        def _launch(func, grid, args):
            ptrs = (ctypes.c_void_p * len(args))(*[ctypes.cast(ctypes.pointer(a), ctypes.c_void_p) for a in args])
            return _cuda.cuLaunchKernel(func, *grid, 1, 1, 1, 0, None, ptrs, None)
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT003", """
        # which() is not a subprocess
        import shutil
        HAVE_NVCC = shutil.which("nvcc") is not None
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT003", """
        # load_inline compiles through torch
        from torch.utils.cpp_extension import load_inline
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT004", """
        # optional import instead of installing
        try:
            import triton
        except ImportError:
            triton = None
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT004", """
        # a string mentioning pip, never run
        HELP = "requires triton (pip install triton)"
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT005", """
        # writes a CUDA source to a temp dir
        import os, tempfile
        SRC = os.path.join(tempfile.gettempdir(), "kernel.cu")
        with open(SRC, "w") as fh:
            fh.write("__global__ void k() {}\\n")
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT005", """
        # reads a python file without writing
        with open(__file__) as fh:
            SOURCE = fh.read()
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT005", """
        # caches a compiled cubin and a shared object under a torch-named cache folder
        import os
        CACHE = os.path.expanduser("~/.cache/torch/kernels")
        def _store(blob):
            with open(os.path.join(CACHE, "k.cubin"), "wb") as fh:
                fh.write(blob)
            with open("/tmp/torch_ext/build/k.so", "wb") as fh:
                fh.write(blob)
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT006", """
        # ordinary CUDA source
        SRC = '''
        __global__ void copy(const float* x, float* y, int n) { int i = threadIdx.x; if (i < n) y[i] = x[i]; }
        '''
        def custom_kernel(data):
            return data.clone()
    """),
    ("NAT006", """
        # L2 flush size constant named plainly
        L2_BYTES = 50 * 1024 * 1024
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN001", """
        # re.compile, torch.compile and model.eval are not the builtins
        import re, torch
        PATTERN = re.compile(r"\\d+")
        kernel = torch.compile(lambda x: x.clone())
        net = torch.nn.Identity().eval()
        def custom_kernel(data):
            return kernel(data)
    """),
    ("DYN001", """
        # ast.literal_eval of a config
        import ast
        CFG = ast.literal_eval("{'block': 128}")
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN002", """
        # base64 cubin decoded but never executed
        import base64
        CUBIN = base64.b64decode("f0VMRgIBAQAAAAAAAAAAAAIAvgABAAAA")
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN002", """
        # json decoded from a string
        import json
        CFG = json.loads('{"block": 128, "warps": 4}')
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN003", """
        # constant importlib import
        import importlib
        triton = importlib.import_module("triton")
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN003", """
        # find_spec is a lookup, not an import
        import importlib.util
        HAVE_TRITON = importlib.util.find_spec("triton") is not None
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN004", """
        # base64 PNG icon
        ICON = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
        def custom_kernel(data):
            return data.clone()
    """),
    ("DYN004", """
        # base64 of JSON data
        CFG = "eyJibG9jayI6IDEyOCwgIndhcnBzIjogNH0="
        def custom_kernel(data):
            return data.clone()
    """),
]


@pytest.mark.parametrize("case", CHEATS, ids=case_id)
def test_cheat_is_reported(case):
    assert_fires(*case)


@pytest.mark.parametrize("case", HONEST, ids=case_id)
def test_honest_lookalike_is_not(case):
    assert_silent(*case)


@pytest.mark.parametrize("payload", [B64_ZLIB, B64_BZ2, HEX], ids=["base64+zlib", "base64+bz2", "hex"])
def test_decoded_payload_is_scanned_with_every_rule(payload):
    findings = scan(f"""
        BLOB = "{payload}"
        def custom_kernel(data):
            return data.clone()
    """)
    inner = [f for f in findings if f.data.get("embedded")]
    assert inner, [(f.rule, f.message) for f in findings]
    assert {f.rule for f in inner} & {"PAT001", "CHN001", "CHN002"}
    for finding in inner:
        assert finding.line == 2  # the outer line that carries the blob
        assert finding.message.startswith("In ")
        assert "decoded line" in finding.evidence[0].detail
