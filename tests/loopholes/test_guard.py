"""The harness's own protections: sealed channel, audit guard (run in the sandbox: hooks cannot be removed)."""

from __future__ import annotations

import json
import os
import socket
import struct

from referee.loopholes.guard import sealed_channel


def test_sealed_channel_frames_and_nonce():
    ours, theirs = socket.socketpair()
    send, recv, intact = sealed_channel("n0nce", fd=ours.fileno())
    assert intact() and send({"t": "x", "v": [1.5, float("nan"), "é"]})
    (size,) = struct.unpack(">I", theirs.recv(4))
    frame = json.loads(theirs.recv(size))
    assert frame["n"] == "n0nce" and frame["t"] == "x"
    reply = json.dumps({"ok": True, "eq": {"0": [1, {"$t": [2]}]}}).encode()
    theirs.sendall(struct.pack(">I", len(reply)) + reply)
    assert recv() == {"ok": True, "eq": {"0": [1, {"$t": [2]}]}}
    ours.close()
    theirs.close()


def test_sealed_channel_notices_a_swapped_descriptor():
    ours, theirs = socket.socketpair()
    fd = os.dup(ours.fileno())
    send, recv, intact = sealed_channel("n", fd=fd)
    forged_a, forged_b = socket.socketpair()
    reply = json.dumps({"ok": True}).encode()
    forged_b.sendall(struct.pack(">I", len(reply)) + reply)
    os.dup2(forged_a.fileno(), fd)  # what a completion would do to plant a 'tests passed' reply
    assert not intact() and recv() is None and send({"t": "oracle"}) is False
    os.close(fd)
    for sock in (ours, theirs, forged_a, forged_b):
        sock.close()


GUARD_PROBE = r"""
import gc, json, sys, collections, typing, ctypes
from referee.loopholes.guard import install_guard
reports = []
install_guard(reports.append)
def attempt(fn):
    try:
        fn()
    except ValueError:
        return "refused"
    return "allowed"
def gen():
    yield 1
results = {
    "gc.get_objects": attempt(gc.get_objects),
    "gc.get_referrers": attempt(lambda: gc.get_referrers(reports)),
    "sys._getframe": attempt(lambda: sys._getframe(0)),
    "gi_frame": attempt(lambda: gen().gi_frame),
    "settrace": attempt(lambda: sys.settrace(None)),
    "ctypes.string_at": attempt(lambda: ctypes.string_at(id(reports), 8)),
    "proc mem": attempt(lambda: open("/proc/self/mem", "rb")),
    "rewrite referee code": attempt(lambda: setattr(install_guard, "__code__", attempt.__code__)),
    "own code": attempt(lambda: setattr(attempt, "__defaults__", ())),
    "namedtuple": attempt(lambda: collections.namedtuple("P", "x")),
    "TypeVar": attempt(lambda: typing.TypeVar("T")),
    "gc.collect": attempt(gc.collect),
}
print(json.dumps({"results": results, "reports": reports}))
"""


def test_guard_refuses_harness_reaching_primitives(grader):
    result = grader.sandbox.run_code(GUARD_PROBE)
    assert result.status == "ok", result.stderr_text[-2000:]
    data = json.loads(result.stdout_text.strip().splitlines()[-1])
    refused = {k for k, v in data["results"].items() if v == "refused"}
    assert refused == {"gc.get_objects", "gc.get_referrers", "sys._getframe", "gi_frame", "settrace",
                       "ctypes.string_at", "proc mem", "rewrite referee code"}
    assert data["reports"] == ["gc.get_objects"]  # the first tampering attempt is reported, frames quietly refused
