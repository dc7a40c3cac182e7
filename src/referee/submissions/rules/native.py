"""Native code, processes and files: leaving Python to do what Python-level checks cannot see.

ctypes can patch memory, call `cudaEventElapsedTime` hooks or reach interpreter internals; subprocesses can
install packages or escape the sandbox; files written into import paths shadow modules the harness imports
(pygpubench `replace_torch`, `got_patch`, `error_counter`; KernelGuard RUNTIME_PACKAGE_INSTALL).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from referee.report import Verdict
from referee.submissions.analysis import Submission
from referee.submissions.rules._util import calls, references
from referee.submissions.rules.registry import Hit, rule

FFI_PREFIXES = ("ctypes", "_ctypes", "cffi", "ctypes.util")
DANGEROUS_FFI = frozenset({"ctypes.pythonapi", "ctypes.memmove", "ctypes.memset", "ctypes.string_at",
                           "ctypes.wstring_at", "ctypes.PYFUNCTYPE", "ctypes.py_object", "ctypes.PyDLL",
                           "ctypes.pydll", "ctypes.c_char.from_address", "_ctypes.dlopen"})
DANGEROUS_NATIVE_STRINGS = re.compile(
    r"cudaEventElapsedTime|cuEventElapsedTime|hipEventElapsedTime|/proc/self/mem|/proc/self/maps|mprotect|ptrace"
    r"|process_vm_writev|dlsym|RTLD_NEXT|LD_PRELOAD|PyRun_|PyObject_SetAttr|PyFrame|PyEval_|PyImport_"
    r"|PyDict_SetItem|PySys_|Py_Initialize|_PyObject|PyThreadState|pythonapi", re.IGNORECASE)
TIMER_SYMBOL = re.compile(r"cudaEventElapsedTime|cuEventElapsedTime|hipEventElapsedTime", re.IGNORECASE)
# A definition (return type, name, parameter list, body) of the timer symbol: the shape of a hook.
TIMER_DEFINITION = re.compile(r"\b\w+[\s*&]+(?:cuda|cu|hip)EventElapsedTime\s*\([^;{)]*\)\s*(?:noexcept\s*)?\{",
                              re.IGNORECASE)
PROCESS_FUNCS = frozenset({"subprocess.run", "subprocess.Popen", "subprocess.call", "subprocess.check_call",
                           "subprocess.check_output", "subprocess.getoutput", "subprocess.getstatusoutput",
                           "os.system", "os.popen", "os.spawnl", "os.spawnv", "os.spawnve", "os.spawnlp",
                           "os.spawnvp", "os.posix_spawn", "os.posix_spawnp", "pty.spawn",
                           "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell", "os.execv",
                           "os.execvp", "os.execl", "os.execve", "os.startfile", "commands.getoutput", "sh.Command",
                           "pexpect.spawn"})
COMPILERS = frozenset({"nvcc", "hipcc", "ptxas", "ninja", "cc", "c++", "gcc", "g++", "clang", "clang++", "amdclang",
                       "amdclang++", "hipconfig", "nvdisasm", "cuobjdump", "llvm-objdump", "roc-obj-ls"})
COMPILE_FLAGS = frozenset({"-shared", "-fPIC", "--offload-arch", "-O3", "-O2", "--genco", "-cubin", "-ptx", "-c"})
BENIGN_CTYPES = frozenset({"CDLL", "cdll", "PyDLL", "util", "c_void_p", "c_int", "c_int32", "c_int64", "c_uint",
                           "c_uint32", "c_uint64", "c_size_t", "c_float", "c_double", "c_char_p", "c_bool",
                           "c_uint8", "c_int8", "c_uint16", "c_int16", "c_long", "c_ulong", "c_longlong", "POINTER",
                           "pointer", "byref", "cast", "Structure", "sizeof", "c_ssize_t", "c_short"})
PROCESS_LIBRARIES = re.compile(r"(^|/)lib(c|dl|python[\d.]*|pthread)\b", re.IGNORECASE)
INSTALL_PATTERN = re.compile(r"\bpip3?\b.*\binstall\b|\bensurepip\b|\buv\s+pip\b|\bconda\s+install\b|"
                             r"\bapt(-get)?\s+install\b|\beasy_install\b|\bnpm\s+install\b", re.IGNORECASE)
WRITE_FUNCS = frozenset({"builtins.open", "io.open", "pathlib.Path.write_text", "pathlib.Path.write_bytes",
                         "shutil.copy", "shutil.copyfile", "shutil.copy2", "shutil.move", "os.rename", "os.replace",
                         "os.symlink", "os.link", "os.remove", "os.unlink", "shutil.rmtree", "os.truncate",
                         "os.chmod"})
SHADOW_TARGET = re.compile(
    r"\.pth$|site-packages|dist-packages|sitecustomize|usercustomize|__pycache__|/proc/self/mem|(^|/)(torch|time|"
    r"reference|utils|eval|task|submission|numpy|triton|sys|os|builtins|random|math|gc|inspect|ctypes|functools|"
    r"typing|importlib|threading|timeit)(\.py[cw]?|/__init__\.py[cw]?)$", re.IGNORECASE)
L2_PATTERN = re.compile(r"PersistingL2|accessPolicyWindow|cudaAccessPropertyPersisting|hitProp|"
                        r"cudaLimitPersistingL2CacheSize|persisting_l2|cudaStreamAttributeAccessPolicyWindow",
                        re.IGNORECASE)


@rule("NAT001", "Foreign-function interface in use", "native", Verdict.FLAG,
      what="Checks for `ctypes`, `_ctypes` and `cffi` imports and uses.",
      why="A foreign-function interface reaches memory and libraries below every Python-level check; kernels "
          "rarely need it (torch extensions and Triton do not).",
      action="Review what is loaded and called; FAIL on interpreter or timer access (NAT002).",
      example="""
          import ctypes
          def custom_kernel(data):
              lib = ctypes.CDLL(None)
              return data.clone()
      """,
      use_instead="""
          import torch.utils.cpp_extension as ext
          def custom_kernel(data):
              return data.clone()
      """,
      known_problems="Loading a library the submission compiled and declaring C argument types "
                     "(`ctypes.CDLL(so)`, `argtypes = [ctypes.c_void_p]`) is not reported.")
def ffi_use(sub: Submission) -> Iterator[Hit]:
    hits = []
    for node in sub.nodes(ast.Import, ast.ImportFrom):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        for module in modules:
            if module.split(".")[0] in ("ctypes", "_ctypes", "cffi"):
                hits.append(Hit(node, f"Imports `{module}`."))
    for call, _ in calls(sub, ("builtins.__import__", "importlib.import_module")):
        module = sub.folder.fold_str(call.args[0]) if call.args else None
        if module and module.split(".")[0] in ("ctypes", "_ctypes", "cffi"):
            hits.append(Hit(call, f"Imports `{module}` dynamically."))
    if hits and not _loads_own_library_only(sub):  # the (costly) use check only for files that load an FFI
        yield from hits


@rule("NAT002", "Native access to interpreter, memory or timers", "native", Verdict.FAIL,
      what="Checks for `ctypes.pythonapi`, raw memory functions (`memmove`, `memset`, `string_at`, "
           "`from_address`), timer and hooking symbols (`cudaEventElapsedTime`, `dlsym`, `RTLD_NEXT`, "
           "`LD_PRELOAD`), `/proc/self/mem`, `mprotect`, `ptrace`, and CPython C-API names in loaded sources.",
      why="These patch the timer below Python (GOT hooks on `cudaEventElapsedTime`), rewrite harness memory, "
          "or drive the interpreter from native code (pygpubench `got_patch`, `error_counter`, "
          "`proc_mem_bypass`).",
      action="Disqualify the run (FAIL).",
      example="""
          import ctypes
          def custom_kernel(data):
              ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(None), ctypes.c_int(0))
              return data
      """,
      use_instead="""
          import torch
          def custom_kernel(data):
              return torch.ops.aten.cumsum(data, 0)
      """)
def native_access(sub: Submission) -> Iterator[Hit]:
    for node, name in references(sub, DANGEROUS_FFI, ("ctypes.pythonapi",)):
        yield Hit(node, f"Uses `{name}`.")
    for node in sub.nodes(ast.Attribute):
        names = sub.resolver.qualnames(node.value)
        if not any(n.startswith(FFI_PREFIXES) for n in names):
            continue
        if node.attr in ("from_address", "from_buffer"):
            yield Hit(node, f"Uses `{node.attr}` to map raw memory.")
        elif DANGEROUS_NATIVE_STRINGS.fullmatch(node.attr) or DANGEROUS_NATIVE_STRINGS.match(node.attr):
            yield Hit(node, f"Calls the native function `{node.attr}` through a foreign-function interface.")
    for node, text in sub.strings:
        match = next((m for m in DANGEROUS_NATIVE_STRINGS.finditer(text)
                      if not (TIMER_SYMBOL.fullmatch(m.group(0)) and not _hooks_timer(text))), None)
        if match:
            yield Hit(node, f"Refers to `{match.group(0)}`, a native route to the interpreter, memory or timers.")


def _hooks_timer(text: str) -> bool:
    """C/C++ source that defines the event-timer function (a GOT/LD_PRELOAD hook) rather than calling it: a
    launcher timing its own kernels with `hipEventElapsedTime(&ms, start, stop)` is ordinary host code."""
    return bool(TIMER_DEFINITION.search(text))


@rule("NAT003", "Runs subprocesses or shell commands", "native", Verdict.FLAG,
      what="Checks for `subprocess`, `os.system`, `os.popen`, `os.spawn*`, `os.exec*`, `pty.spawn` and asyncio "
           "subprocesses.",
      why="A child process is outside every in-process check: it can install packages, write files the harness "
          "imports, or survive the run.",
      action="Review the command; FAIL on package installs (NAT004) or file shadowing (NAT005).",
      known_problems="Compiler invocations (nvcc, hipcc, ptxas, ninja, the C compiler, or a command with "
                     "`-shared`/`--offload-arch` flags) are not reported: the sandbox provides the toolchain.",
      example="""
          import subprocess
          subprocess.run(["nvidia-smi", "-lgc", "1980"])
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          import shutil
          HAVE_NVCC = shutil.which("nvcc") is not None
          def custom_kernel(data):
              return data.clone()
      """)
def subprocess_use(sub: Submission) -> Iterator[Hit]:
    for call, name in calls(sub, PROCESS_FUNCS):
        if not _compiles(sub, call):
            yield Hit(call, f"Runs a process with `{name}`.")


def _compiles(sub: Submission, call: ast.Call) -> bool:
    """`subprocess.run([hipcc, "-shared", "-O3", "--offload-arch=gfx950", "-o", so, src])`: building the kernel
    with the toolchain the sandbox provides (nvcc, hipcc, ptxas, ninja, the C compiler) is what native entries do."""
    argv = call.args[0] if call.args else None
    first = argv.elts[0] if isinstance(argv, (ast.List, ast.Tuple)) and argv.elts else argv
    names: list[str] = []
    if first is not None:
        value = sub.folder.fold(first)
        if isinstance(value, str):
            names.append(value)
        if isinstance(first, ast.Name):
            function = sub.function_of(call)
            names.extend(v for v in (sub.folder.fold(x) for x in sub.flow.local_values(first.id, function))
                         if isinstance(v, str))
    words = [w for n in names for w in n.split()[:1]]
    if words and all(w.rsplit("/", 1)[-1] in COMPILERS for w in words):
        return True
    strings = set(_strings_in(sub, call))
    return bool(strings & COMPILE_FLAGS) and not any(INSTALL_PATTERN.search(t) for t in strings)


def _loads_own_library_only(sub: Submission) -> bool:
    """Every `ctypes` use is loading a shared library and declaring C argument types (a kernel compiled by the
    submission and called through its C ABI); raw memory and interpreter access are NAT002's business."""
    uses = [name for node in sub.nodes(ast.Attribute) for name in sub.resolver.qualnames(node)
            if name.startswith(("ctypes.", "_ctypes.", "cffi."))]
    if not uses or any(n.startswith(("_ctypes.", "cffi.")) for n in uses):
        return False
    if not all(n.split(".")[1] in BENIGN_CTYPES for n in uses):
        return False
    for call, _ in calls(sub, ("ctypes.CDLL", "ctypes.PyDLL", "ctypes.cdll.LoadLibrary")):
        target = sub.folder.fold(call.args[0]) if call.args else None
        none = not call.args or (isinstance(call.args[0], ast.Constant) and call.args[0].value is None)
        if none or (isinstance(target, str) and PROCESS_LIBRARIES.search(target)):
            return False  # `CDLL(None)`, libc, libpython: the process's own symbols, not the submission's kernel
    return True


@rule("NAT004", "Installs packages at run time", "native", Verdict.FLAG,
      what="Checks for package installation at run time: `pip install` (in a subprocess, `os.system` or "
           "`pip.main`), `ensurepip`, `conda/apt install`, `import pip`.",
      why="Installing packages changes the environment the harness runs in and may replace modules it imports "
          "(KernelGuard RUNTIME_PACKAGE_INSTALL). It is risky, not proof of cheating: real entries `pip install` "
          "a kernel DSL the runner lacks; what an install replaces is judged by NAT005 and the dynamic probes.",
      action="Review the command and the package; dependencies belong in the task's environment (the sandbox "
             "has no network, so the install fails there).",
      example="""
          import os
          os.system("pip install fast-kernels==0.1")
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          try:
              import triton
          except ImportError:
              triton = None
          def custom_kernel(data):
              return data.clone()
      """,
      kernelguard=["RUNTIME_PACKAGE_INSTALL"])
def package_install(sub: Submission) -> Iterator[Hit]:
    for call, name in calls(sub, PROCESS_FUNCS):
        text = " ".join(_strings_in(sub, call))
        if INSTALL_PATTERN.search(text) or ("pip" in text.split() and "install" in text.split()):
            yield Hit(call, f"Installs packages with `{name}`.")
    for node in sub.nodes(ast.Import, ast.ImportFrom):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        if any(m.split(".")[0] in ("pip", "ensurepip") for m in modules):
            yield Hit(node, "Imports the package installer.")
    for call, name in calls(sub, ("pip.main", "pip._internal.main", "pip._internal.cli.main.main",
                                  "ensurepip.bootstrap", "runpy.run_module")):
        module = sub.folder.fold_str(call.args[0]) if call.args else None
        if name != "runpy.run_module" or module in ("pip", "ensurepip"):
            yield Hit(call, f"Calls `{name}`.")


def _strings_in(sub: Submission, node: ast.AST) -> list[str]:
    out = []
    for child in ast.walk(node):
        value = sub.folder.fold(child)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, (list, tuple)):
            out.extend(v for v in value if isinstance(v, str))
    return out


@rule("NAT005", "Writes files that shadow imports", "native", Verdict.FAIL,
      what="Checks for writes, copies, renames or deletions that shadow imports: `.pth` files, `site-packages`, "
           "`sitecustomize`, `__pycache__`, and modules named like ones the harness imports (`torch.py`, "
           "`time.py`, `reference.py`, `utils.py`, `eval.py`, `numpy/__init__.py`, ...).",
      why="A `torch.py` or `time.py` in the working directory, or a `.pth` file, replaces what the harness imports "
          "next (pygpubench `replace_torch`).",
      action="Disqualify the run (FAIL).",
      example="""
          with open("time.py", "w") as fh:
              fh.write("perf_counter = lambda: 0.0\\n")
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          import os, tempfile
          SRC = os.path.join(tempfile.gettempdir(), "kernel.cu")
          with open(SRC, "w") as fh:
              fh.write("__global__ void k() {}\\n")
          def custom_kernel(data):
              return data.clone()
      """)
def import_shadowing(sub: Submission) -> Iterator[Hit]:
    for call, name in calls(sub, WRITE_FUNCS):
        if name in ("builtins.open", "io.open"):
            mode = sub.folder.fold_str(call.args[1]) if len(call.args) > 1 else next(
                (sub.folder.fold_str(k.value) for k in call.keywords if k.arg == "mode"), "r")
            if not mode or not any(c in mode for c in "wax+"):
                continue
        paths = [s for s in _strings_in(sub, call) if "/" in s or "." in s or s.isidentifier()]
        for path in paths:
            if SHADOW_TARGET.search(path.strip()):
                yield Hit(call, f"Writes `{path.strip()}` with `{name}`, which can shadow a module the harness "
                                "imports.")
                break
    for call in sub.nodes(ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in ("write_text", "write_bytes", "touch", "symlink_to"):
            for path in _strings_in(sub, func.value):
                if SHADOW_TARGET.search(path.strip()):
                    yield Hit(call, f"Writes `{path.strip()}`, which can shadow a module the harness imports.")
                    break


@rule("NAT006", "Persisting-L2 cache controls", "native", Verdict.FLAG,
      what="Checks for CUDA persisting-L2 controls in any string or name: `cudaLimitPersistingL2CacheSize`, "
           "`accessPolicyWindow`, `cudaAccessPropertyPersisting`, `hitProp`.",
      why="Reserving a persisting L2 carve-out keeps the reused inputs in cache across the harness's L2 flush, so "
          "timings beat physical memory bandwidth (pygpubench PR #49; llm.c PR #851).",
      action="Review by hand; compare timings with a roofline bound for the benchmark shapes.",
      example="""
          SRC = '''
          cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize, 40 << 20);
          '''
          def custom_kernel(data):
              return data.clone()
      """,
      use_instead="""
          SRC = '''
          __global__ void copy(const float* x, float* y, int n) { int i = threadIdx.x; if (i < n) y[i] = x[i]; }
          '''
          def custom_kernel(data):
              return data.clone()
      """)
def l2_persistence(sub: Submission) -> Iterator[Hit]:
    for node, text in sub.strings:
        match = L2_PATTERN.search(text)
        if match:
            yield Hit(node, f"Uses the persisting-L2 control `{match.group(0)}`.")
    for node in sub.nodes(ast.Attribute):
        if L2_PATTERN.search(node.attr):
            yield Hit(node, f"Uses the persisting-L2 control `{node.attr}`.")
