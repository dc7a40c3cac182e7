"""A small hand-built seccomp-BPF filter: the system calls no grading job needs are refused with EPERM.

Built once in the fork server (a few hundred bytes), loaded by each child with one `prctl` (tens of
microseconds; libseccomp would cost 0.3-2 ms per child and a dependency). It refuses what would let a job reach
past its namespaces, keep state after it ends, or attack the kernel's larger surfaces: ptrace and
process_vm_*, mount/unshare/setns/chroot and new namespaces through clone, bpf, io_uring, userfaultfd, the
kernel keyring, perf_event_open, module and kexec loading; SysV IPC too when the job has no IPC namespace of its
own. Any other architecture's system call (x32, i386 through int 0x80) kills the process. Compilers, threads,
subprocesses and PyTorch need none of these.
"""

from __future__ import annotations

import ctypes
import platform
import struct

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_RET_ALLOW = 0x7FFF0000
_EPERM = 1
_ENOSYS = 38
# BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_OFF_NR, _OFF_ARCH, _OFF_ARG0 = 0, 4, 16
#: CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
CLONE_NEW_MASK = 0x7E020000

#: x86_64 numbers of the calls refused to every job, by what they would open
DENIED = {
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,  # other processes' memory
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442,  # the filesystem view and namespaces
    "bpf": 321, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "userfaultfd": 323,
    "perf_event_open": 298,  # large kernel attack surfaces
    "keyctl": 250, "add_key": 248, "request_key": 249,  # per-uid keyrings outlive the job
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176,
    "open_by_handle_at": 304, "name_to_handle_at": 303, "swapon": 167, "swapoff": 168, "reboot": 169,
    "acct": 163, "quotactl": 179, "syslog": 103, "iopl": 172, "ioperm": 173, "settimeofday": 164,
    "clock_settime": 227, "adjtimex": 159, "clock_adjtime": 305,
}
#: SysV IPC and POSIX message queues: refused only when the job has no IPC namespace of its own
IPC_CALLS = {"shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65, "semctl": 66,
             "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "mq_open": 240}
_CLONE = 56
_CLONE3 = 435
_KILL = 62

_libc = ctypes.CDLL(None, use_errno=True)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _ins(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def build_program(deny_ipc: bool, deny_kill_zero: bool = True) -> bytes:
    """The filter as raw `sock_filter` instructions.

    `deny_kill_zero`: in the jobs' PID namespace the job's parent is outside, so `getppid()` is 0 and
    "kill my parent" (`kill(getppid(), ...)`) would signal the job's own process group; refusing pid 0 gives it
    the EPERM it gets outside."""
    denied = sorted({*DENIED.values(), *(IPC_CALLS.values() if deny_ipc else ())})
    errno = _RET_ERRNO | _EPERM
    body: list[bytes] = [_ins(_LD_W_ABS, 0, 0, _OFF_ARCH), _ins(_JEQ_K, 1, 0, _AUDIT_ARCH_X86_64),
                         _ins(_RET_K, 0, 0, _RET_KILL_PROCESS), _ins(_LD_W_ABS, 0, 0, _OFF_NR),
                         _ins(_JGE_K, 0, 1, _X32_BIT), _ins(_RET_K, 0, 0, _RET_KILL_PROCESS)]
    # clone3 passes its flags in memory the filter cannot read: ENOSYS makes libc fall back to clone
    body += [_ins(_JEQ_K, 0, 1, _CLONE3), _ins(_RET_K, 0, 0, _RET_ERRNO | _ENOSYS)]
    body += [_ins(_JEQ_K, 0, 3, _CLONE), _ins(_LD_W_ABS, 0, 0, _OFF_ARG0), _ins(_JSET_K, 0, 1, CLONE_NEW_MASK),
             _ins(_RET_K, 0, 0, errno), _ins(_LD_W_ABS, 0, 0, _OFF_NR)]
    if deny_kill_zero:
        body += [_ins(_JEQ_K, 0, 3, _KILL), _ins(_LD_W_ABS, 0, 0, _OFF_ARG0), _ins(_JEQ_K, 0, 1, 0),
                 _ins(_RET_K, 0, 0, errno), _ins(_LD_W_ABS, 0, 0, _OFF_NR)]
    for index, number in enumerate(denied):
        # each test jumps to the shared ERRNO return at the end when it matches
        remaining = len(denied) - index - 1
        body.append(_ins(_JEQ_K, remaining + 1, 0, number))
    body += [_ins(_RET_K, 0, 0, _RET_ALLOW), _ins(_RET_K, 0, 0, errno)]
    return b"".join(body)


class Filter:
    """A prepared filter; `load()` installs it in the calling process (needs no_new_privs, which Landlock sets)."""

    def __init__(self, deny_ipc: bool, deny_kill_zero: bool = True) -> None:
        self.program = build_program(deny_ipc, deny_kill_zero)
        self._buf = ctypes.create_string_buffer(self.program, len(self.program))
        self._prog = _SockFprog(len(self.program) // 8, ctypes.addressof(self._buf))
        self._prctl = _libc.prctl
        self._byref = ctypes.byref

    def load(self) -> bool:
        self._prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: required for an unprivileged filter
        return self._prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, self._byref(self._prog), 0, 0) == 0


def supported() -> bool:
    """The filter speaks x86_64 numbers only; elsewhere the layer reports itself off."""
    return platform.machine() == "x86_64"
