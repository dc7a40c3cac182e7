"""Keeping the completion out of the harness it shares a process with: sealed channel, audit guard, signals.

The harness (`harness.grade_main`) runs in the same interpreter as the completion. Three things keep the
completion from steering it:

- `sealed_channel`: the frames to and from the relay go through the C JSON encoder and scanner, `os.read`,
  `os.write` and `struct` functions captured before the completion loads, and through fd 3 only while it is
  still the socket the sandbox handed over (device and inode checked before every read and write). Rebinding
  `json.dumps`, `json._default_decoder`, `builtins`, or `os.dup2`-ing a forged reply onto fd 3 changes nothing:
  the harness reads the verdict bit only from the real relay.
- `install_guard`: a `sys.addaudithook` hook (it cannot be removed) that refuses, with ValueError, the
  primitives that reach the harness's memory. Frame handles (`sys._getframe`, traceback/generator/coroutine
  frames) are refused quietly: standard-library callers that probe frames optionally (`collections.namedtuple`,
  `typing`, `enum`, `logging`) already treat ValueError as "no frames here" and keep working (printing a
  traceback from inside a completion does not). `gc` object walks, `sys._current_frames`, tracing/profiling
  hooks, new audit hooks, ctypes memory and symbol access, rewriting the code or defaults of referee functions
  and opening `/proc/*/mem` are refused and the first attempt is reported as tampering (the relay then voids the
  in-process signals: run_tests, eq, sentinel).
- `block_signals`: all blockable signals are blocked before the completion loads, so no Python signal handler
  (which is handed the interrupted frame) runs in the middle of the harness.

What stays possible (documented in docs/loopholes.md): code that unblocks signals and walks the frame a handler
receives, or copies memory with `ctypes.memmove` at `id()`-derived addresses, can read the per-run nonce and
forge the three in-process frames. It can never forge the oracle (the expected values are not in the process)
nor the verdict bit that drives the other modes' signals.
"""

from __future__ import annotations

import json
import math
import os
import signal
import struct
import sys
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from types import MappingProxyType
from typing import Any

try:
    from json.encoder import c_make_encoder
    from json.scanner import c_make_scanner
except ImportError:  # pragma: no cover - CPython always has _json
    c_make_encoder = None
    c_make_scanner = None

CHANNEL_FD = 3
#: refused and reported as tampering: nothing an honest solution needs
_TAMPER_EVENTS = frozenset({
    "sys._current_frames", "sys.settrace", "sys.setprofile", "sys.addaudithook",
    "gc.get_objects", "gc.get_referrers", "gc.get_referents",
})
#: ctypes stays importable (numpy loads libraries through it); reading memory or symbols through it does not
_CTYPES_ALLOWED = frozenset({"ctypes.dlopen"})
#: refused quietly: frame handles. The standard library's optional frame probes treat ValueError as "none".
_FRAME_EVENTS = frozenset({"sys._getframe", "sys._getframemodulename"})
_FRAME_ATTRS = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
_CODE_ATTRS = frozenset({"__code__", "__defaults__", "__kwdefaults__"})
#: refused quietly (PermissionError, as a sandbox without fork would): grading runs may hold threads, never new
#: processes. A soft barrier only (ctypes can call fork); the sandbox's process limit is the hard one.
_PROCESS_EVENTS = frozenset({"os.system", "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn",
                             "subprocess.Popen", "pty.spawn"})
_CONSTANTS = MappingProxyType({"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf})


def _no_default(value: Any) -> Any:
    raise TypeError(f"not JSON: {type(value).__name__}")


# The C encoder and scanner expose no writable attribute, so one pair built at import serves every run.
if c_make_encoder is not None and c_make_scanner is not None:
    _ENCODER = c_make_encoder(None, _no_default, encode_basestring_ascii, None, ":", ",", False, False, True)
    _SCANNER = c_make_scanner(json.JSONDecoder(parse_constant=_CONSTANTS.__getitem__))
else:  # pragma: no cover - CPython always has _json
    _ENCODER = _SCANNER = None


def decode_text(text: str, _scanner: Any = _SCANNER) -> Any:
    """JSON text to a value with the scanner built at import (used after the completion loaded)."""
    if _scanner is None:  # pragma: no cover - CPython always has _json
        return json.loads(text)
    return _scanner(text, 0)[0]


def sealed_channel(nonce: str, fd: int = CHANNEL_FD, _fstat: Any = os.fstat, _write: Any = os.write,
                   _read: Any = os.read, _pack: Any = struct.pack, _unpack: Any = struct.unpack, _len: Any = len,
                   _oserror: Any = OSError, _min: Any = min) -> tuple[Callable[[dict[str, Any]], bool],
                                                                     Callable[[], Any], Callable[[], bool]]:
    """(send, recv, intact) bound now; `send` stamps the nonce, `recv` returns None when fd 3 was swapped."""
    if _ENCODER is not None and _SCANNER is not None:
        encoder, scanner = _ENCODER, _SCANNER

        def dumps(obj: Any) -> str:
            return "".join(encoder(obj, 0))

        def loads(text: str) -> Any:
            return scanner(text, 0)[0]
    else:  # pragma: no cover
        dumps, loads = json.JSONEncoder(separators=(",", ":")).encode, json.JSONDecoder().decode
    stat = _fstat(fd)
    ident = (stat.st_dev, stat.st_ino)

    def intact() -> bool:
        try:
            now = _fstat(fd)
        except _oserror:
            return False
        return (now.st_dev, now.st_ino) == ident

    def send(frame: dict[str, Any]) -> bool:
        if not intact():
            return False
        frame["n"] = nonce
        data = dumps(frame).encode()
        view = _pack(">I", _len(data)) + data
        while view:
            view = view[_write(fd, view):]
        return True

    def read_exact(size: int) -> bytes:
        chunks = []
        while size:
            chunk = _read(fd, _min(size, 1 << 20))
            if not chunk:
                raise EOFError("relay closed the channel")
            chunks.append(chunk)
            size -= _len(chunk)
        return b"".join(chunks)

    def recv() -> Any:
        if not intact():
            return None
        (size,) = _unpack(">I", read_exact(4))
        return loads(read_exact(size).decode())

    return send, recv, intact


def install_guard(report: Callable[[str], Any], _add: Any = sys.addaudithook, _type: Any = type,
                  _str: Any = str, _function: Any = type(_no_default), _base: Any = BaseException,
                  _value_error: Any = ValueError, _permission: Any = PermissionError) -> None:
    """Refuse harness-reaching primitives for the rest of the process and report the first attempt."""
    fired = [False]
    tamper_events, ctypes_ok, process_events = _TAMPER_EVENTS, _CTYPES_ALLOWED, _PROCESS_EVENTS
    frame_events, frame_attrs, code_attrs = _FRAME_EVENTS, _FRAME_ATTRS, _CODE_ATTRS

    def referee_function(obj: Any) -> bool:
        if _type(obj) is not _function:
            return False
        name = obj.__globals__.get("__name__")
        return _type(name) is _str and (name == "referee" or name.startswith("referee."))

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in frame_events or (event == "object.__getattr__" and args[1] in frame_attrs):
            raise _value_error("frames are not available here (blocked by referee)")
        if event in process_events:
            raise _permission(f"{event}: no new processes in a graded run (blocked by referee)")
        why = None
        if event in tamper_events or (event.startswith("ctypes.") and event not in ctypes_ok):
            why = event
        elif event == "object.__setattr__" and args[1] in code_attrs and referee_function(args[0]):
            why = f"rewrites {args[1]} of a referee function"
        elif event == "open" and _type(args[0]) is _str and args[0].startswith("/proc/") \
                and args[0].rstrip("/").endswith(("/mem", "/environ", "/maps")):
            why = f"opens {args[0]}"
        if why is None:
            return
        if not fired[0]:
            fired[0] = True
            try:
                report(why)
            except _base:
                pass
        raise _value_error(f"blocked by referee: {why}")

    _add(hook)


#: computed once at import (the fork server pre-imports this module): `valid_signals()` builds ~60 enum members
_BLOCKABLE = frozenset(int(s) for s in signal.valid_signals()) - {int(signal.SIGKILL), int(signal.SIGSTOP)}


def block_signals(_mask: Any = signal.pthread_sigmask, _signals: frozenset[int] = _BLOCKABLE) -> None:
    """Block every blockable signal, so no Python-level handler runs inside the harness."""
    try:
        _mask(signal.SIG_BLOCK, _signals)
    except (OSError, ValueError):
        pass
