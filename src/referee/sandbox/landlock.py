"""Landlock through raw syscalls (ctypes), so a child can lock itself to its work directory in ~0.1 ms.

Landlock is an unprivileged Linux LSM: once applied, the process and its descendants can only write beneath the
allowed directories, read and execute only beneath the readable ones (when a read list is given), cannot connect
or bind TCP sockets (ABI >= 4) and cannot signal processes or reach abstract unix sockets outside their domain
(ABI >= 6), whatever their uid.
"""

from __future__ import annotations

import ctypes
import os
import struct

_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

_EXECUTE = 1 << 0
_WRITE_FILE = 1 << 1
_READ_FILE = 1 << 2
_READ_DIR = 1 << 3
READ_ACCESS = _EXECUTE | _READ_FILE | _READ_DIR
_REMOVE_DIR = 1 << 4
_REMOVE_FILE = 1 << 5
_MAKE_CHAR = 1 << 6
_MAKE_DIR = 1 << 7
_MAKE_REG = 1 << 8
_MAKE_SOCK = 1 << 9
_MAKE_FIFO = 1 << 10
_MAKE_BLOCK = 1 << 11
_MAKE_SYM = 1 << 12
_REFER = 1 << 13
_TRUNCATE = 1 << 14
_NET_BIND_TCP = 1 << 0
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX = 1 << 0
_SCOPE_SIGNAL = 1 << 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def abi_version() -> int:
    """Landlock ABI of the running kernel, 0 when unavailable."""
    try:
        result = _libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except Exception:
        return 0
    return int(result) if result > 0 else 0


def _write_access(abi: int) -> int:
    access = (_WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE_CHAR | _MAKE_DIR | _MAKE_REG | _MAKE_SOCK | _MAKE_FIFO
              | _MAKE_BLOCK | _MAKE_SYM)
    if abi >= 2:
        access |= _REFER
    if abi >= 3:
        access |= _TRUNCATE
    return access


def build_ruleset(writable_dirs: list[str], abi: int, writable_files: tuple[str, ...] = ("/dev/null",),
                  readable: list[str] | None = None, listable: tuple[str, ...] | list[str] = (),
                  tcp: bool = True) -> int | None:
    """A ruleset fd allowing writes only beneath `writable_dirs` (plus /dev/null), reads only beneath `readable`
    (when given; `listable` folders may be listed, not read), denying TCP and outside signals where the ABI
    supports it (`tcp=False` leaves TCP to the network namespace: loopback only). Built once per fork server; each
    child only has to apply it."""
    if abi <= 0:
        return None
    write = _write_access(abi)
    handled = write | (READ_ACCESS if readable is not None else 0)
    fields = [handled]
    if abi >= 4:
        fields.append(_NET_BIND_TCP | _NET_CONNECT_TCP if tcp else 0)
    if abi >= 6:
        fields.append(_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL)
    attr = struct.pack(f"={len(fields)}Q", *fields)
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset_fd = _libc.syscall(_SYS_CREATE_RULESET, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if ruleset_fd < 0:
        return None
    reads = READ_ACCESS if readable is not None else 0
    targets = [(path, handled) for path in writable_dirs]
    targets += [(path, _WRITE_FILE | _TRUNCATE * (abi >= 3) | (reads & ~_READ_DIR)) for path in writable_files]
    targets += [(path, READ_ACCESS) for path in readable or ()]
    targets += [(path, _READ_DIR) for path in listable if readable is not None]
    for path, access in targets:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        if not os.path.isdir(path):
            access &= ~(_READ_DIR | _REMOVE_DIR | _REMOVE_FILE | _MAKE_CHAR | _MAKE_DIR | _MAKE_REG | _MAKE_SOCK
                        | _MAKE_FIFO | _MAKE_BLOCK | _MAKE_SYM | _REFER)
        try:
            rule = ctypes.create_string_buffer(struct.pack("=Qi", access, fd), 12)
            if _libc.syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset_fd), ctypes.c_int(_RULE_PATH_BENEATH), rule,
                             ctypes.c_uint32(0)) < 0:
                os.close(ruleset_fd)
                return None
        finally:
            os.close(fd)
    return int(ruleset_fd)


def apply_ruleset(ruleset_fd: int | None) -> bool:
    """Restrict the calling process (and its future children) with a prepared ruleset."""
    if ruleset_fd is None:
        return False
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return _libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset_fd), ctypes.c_uint32(0)) == 0
