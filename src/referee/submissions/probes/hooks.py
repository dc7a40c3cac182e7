"""Run-time observation inside the child: an audit hook (PEP 578) and call counters on the reference functions.

Audit hooks cannot be removed once installed, and CPython raises events for the operations cheats need: reading
frames and the heap (`sys._getframe`, `gc.get_objects`), running built code (`exec`, `compile`), native code and
processes (`ctypes.dlopen`, `subprocess.Popen`, `os.fork`), files and sockets, `__code__` swaps. An event counts
only when submission code caused it: the hook looks for a frame of the submission file (or of code it built with
exec, whose file name is `<string>`) on the stack, so torch's own internal use of the same functions stays silent.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

#: events attributed through library wrappers (subprocess.run -> Popen, torch.save -> open)
DEEP = {"subprocess.Popen": "process", "os.system": "process", "os.exec": "process", "os.posix_spawn": "process",
        "os.spawn": "process", "os.fork": "process", "os.forkpty": "process", "pty.spawn": "process",
        "ctypes.dlopen": "native", "ctypes.dlsym": "native", "ctypes.string_at": "native", "ctypes.cdata": "native",
        "ctypes.call_function": "native", "os.kill": "process", "os.killpg": "process",
        "signal.pthread_kill": "process", "socket.connect": "network", "socket.bind": "network",
        "socket.getaddrinfo": "network", "open": "file", "os.remove": "file", "os.rename": "file",
        "shutil.rmtree": "file", "os.symlink": "file", "os.link": "file", "os.truncate": "file", "os.chmod": "file",
        "mmap.__new__": "native", "marshal.loads": "code", "pickle.find_class": "code",
        "object.__setattr__": "patch", "object.__delattr__": "patch", "sys.settrace": "introspection",
        "sys.setprofile": "introspection", "sys._current_frames": "introspection"}
#: events attributed only when submission code called them directly
DIRECT = {"exec": "code", "compile": "code", "sys._getframe": "introspection",
          "gc.get_objects": "introspection", "gc.get_referrers": "introspection",
          "gc.get_referents": "introspection"}
_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000  # O_WRONLY O_RDWR O_CREAT O_TRUNC O_APPEND
_PRIVATE_PATHS = ("/proc", "/dev/shm", "/sys", "/dev/mem", "/dev/nvidia")
MAX_EVENTS = 200
#: special attributes whose assignment swaps behaviour (function code, defaults, class bases)
_PATCHED_SPECIALS = {"__code__", "__defaults__", "__kwdefaults__", "__bases__", "__class__"}
_INDIRECT_FILES = ("inspect.py", "traceback.py")
#: loading an installed module (its .pyc through marshal, its files) is the import system's work, not the caller's
_IMPORT_MACHINERY = ("<frozen importlib", "<frozen zipimport")
#: kernel compilers run compilers (subprocess) and write build folders on the submission's behalf: the standard
#: honest route to custom kernels, so events raised inside them are not the submission's own
COMPILER_FILES = ("torch/utils/cpp_extension.py", "torch/utils/_cpp_extension_versioner.py", "/triton/",
                  "torch/_inductor/", "torch/_dynamo/", "/cuda/core/", "/cupy/", "/numba/")


#: frame handles, refused while submission code runs on the driver's stack (`guarded`)
_FRAME_EVENTS = frozenset({"sys._getframe", "sys._getframemodulename"})
_FRAME_ATTRS = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"})
#: heap and thread-stack walks that find the driver's objects: recorded, then refused for submission code
_HEAP_WALKS = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames"})


class Recorder:
    """Collects events and reference calls caused by submission code while `active` is set."""

    def __init__(self, submission_path: str) -> None:
        self.submission_path = submission_path
        self.active = False
        self.guarded = False
        self.library_threads: Any = ()
        self.events: list[list[Any]] = []
        self.counts: dict[str, int] = {}
        self.calls: dict[str, int] = {}
        self.call_sites: list[list[Any]] = []
        self._getframe = sys._getframe
        self._busy = False
        self._deep = DEEP
        self._direct = DIRECT

    def _ours(self, filename: str) -> bool:
        return filename == self.submission_path or (filename.startswith("<") and not filename.startswith("<frozen"))

    def _site(self, deep: bool, start: int) -> tuple[str, int] | None:
        try:
            frame = self._getframe(start)
        except ValueError:
            return None
        hops = 0
        while frame is not None and hops < 40:
            name = frame.f_code.co_filename
            if self._ours(name):
                return name, frame.f_lineno
            if deep and (name.startswith(_IMPORT_MACHINERY) or any(part in name for part in COMPILER_FILES)):
                return None
            if not deep and not name.endswith(_INDIRECT_FILES):
                return None
            frame = frame.f_back
            hops += 1
        return None

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self._busy:
            return
        if self.guarded and (event in _FRAME_EVENTS or (event == "object.__getattr__" and len(args) > 1
                                                         and args[1] in _FRAME_ATTRS)):
            # submission code called back from the driver's own stack (an output's methods): no frames to walk
            raise ValueError("frames are not available here (blocked by referee)")
        if not self.active:
            return
        kind = self._deep.get(event)
        deep = kind is not None
        if not deep:
            if event not in self._direct:
                return
            kind = self._direct[event]
        self._busy = True
        try:
            detail = self._detail(event, args)
            if detail is None:
                return
            site = self._site(deep, 2)
            if site is None:
                return
            self.counts[event] = self.counts.get(event, 0) + 1
            if len(self.events) < MAX_EVENTS:
                self.events.append([event, kind, detail, site[1]])
            refused = event in _HEAP_WALKS
        except Exception:
            refused = False
        finally:
            self._busy = False
        if refused:  # the routes to the driver's objects: recorded above, then refused
            raise ValueError(f"{event} is not available to submissions (blocked by referee)")

    @staticmethod
    def _detail(event: str, args: tuple[Any, ...]) -> str | None:
        if event == "open":
            path, mode, flags = [*args, None, None, None][:3]
            path_s = str(path)
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS)
            if not writes and not path_s.startswith(_PRIVATE_PATHS):
                return None
            return f"{path_s[:200]} mode={mode!r}"
        if event in {"object.__setattr__", "object.__delattr__"}:
            if len(args) < 2 or args[1] not in _PATCHED_SPECIALS:
                return None
            return f"{type(args[0]).__name__} {getattr(args[0], '__qualname__', '?')}.{args[1]}"
        if event in {"exec", "compile"}:
            code = args[0] if args else None
            return (str(getattr(code, "co_filename", "")) or repr(code)[:80])[:120]
        return repr(args)[:200]

    def counted(self, name: str, fn: Any) -> Any:
        """A wrapper of a reference function that counts calls made from submission code."""
        recorder = self

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if recorder.active and not recorder._busy:
                recorder._busy = True
                try:
                    site = recorder._site(True, 1)
                    recorder.calls[name] = recorder.calls.get(name, 0) + 1
                    if len(recorder.call_sites) < 20:
                        recorder.call_sites.append([name, site[1] if site else None])
                finally:
                    recorder._busy = False
            return fn(*args, **kwargs)

        del wrapper.__wrapped__  # no uncounted way back to the original through the wrapper
        return wrapper

    def watch_threads(self) -> None:
        """Remember threads that kernel compilers start (inductor's compile pool): theirs, not the submission's.

        Installed in the trusted phase, so the wrapper is part of the baseline integrity snapshot.
        """
        import threading
        import weakref

        recorder = self
        owned: Any = weakref.WeakSet()
        self.library_threads = owned
        original = threading.Thread.start

        def start(thread: Any) -> Any:
            if recorder.active and not recorder._busy:
                recorder._busy = True
                try:
                    if recorder._site(True, 1) is None:  # a compiler frame before any submission frame
                        owned.add(thread)
                finally:
                    recorder._busy = False
            return original(thread)

        start.__wrapped__ = original  # type: ignore[attr-defined]
        threading.Thread.start = start  # type: ignore[method-assign]

    def drain(self) -> dict[str, Any]:
        """Events and calls seen since the last drain (sent after import and after each call)."""
        out = {"events": self.events, "counts": dict(self.counts), "calls": dict(self.calls),
               "call_sites": self.call_sites}
        self.events = []
        self.call_sites = []
        return out
