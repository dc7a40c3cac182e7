"""The fork-server end of a grade: checks the child's frames and relays the oracle frame to the verdict service.

A sandbox handler (`Relay`) lives in the fork server, which is forked for every job: whatever the server holds
when it forks, the child inherits and could read (`gc`, frame walking). So the relay never holds the expected
values. It:

- checks every frame against the run's nonce: a fresh random string the grading process puts in the job's
  payload, which the harness takes before any completion code runs. A frame without it, out of order or
  repeated, marks the run *tampered*. (Code that reads the harness's own memory can find the nonce wherever it
  came from - the payload or a reply on the channel -, so carrying it in the payload costs no security and saves
  a round trip; what it protects against is frames written blindly to the channel.);
- forwards the single oracle frame to the verdict service in the grading process (a Unix socket that only the
  fork servers can use) and passes back only what the child may know after its outputs are committed: the
  verdict bit, and in eq_override mode the expected values of its non-plain outputs;
- records the mode signals (run_tests returned, eq results, sentinel) and the `done` frame for the grader.

It also warms the compile cache of `referee.loopholes.harness` in the fork server (compiling the setup code
and the input builder, importing the modules the setup code names; nothing of a problem is executed there), so
the following jobs of the same problem start with compiled code.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

from referee.loopholes import harness

_SIGNALS = {"rt": "run_tests", "eq": "eq_override", "sn": "sentinel"}
_SERVICE_TIMEOUT = 30.0
#: bounds on what a probe run may report (calls recorded for the canonical job)
_MAX_MISSES = 256
_MAX_KEY = 64 << 10


def ask_service(path: str, request: dict[str, Any], timeout: float = _SERVICE_TIMEOUT) -> Any:
    """One length-prefixed JSON request/reply on the verdict service's Unix socket."""
    data = json.dumps(request, separators=(",", ":")).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(path)
        conn.sendall(struct.pack(">I", len(data)) + data)
        header = _recv_exact(conn, 4)
        (size,) = struct.unpack(">I", header)
        return json.loads(_recv_exact(conn, size))


def _recv_exact(conn: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = conn.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("verdict service closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


class Relay:
    """Sandbox handler for `harness.grade_main` and `harness.probe_main` jobs."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.job = payload.get("job", "grade")
        self.mode = payload.get("mode")
        self.token = payload.get("token")
        self.service = payload.get("svc")
        nonce = payload.get("nonce")
        #: None refuses every frame: a run without a nonce cannot tell its harness's frames from forged ones
        self.nonce = nonce if isinstance(nonce, str) and len(nonce) >= 16 else None
        self.tampered: list[str] = []
        self.frames: dict[str, Any] = {}
        self.probes: dict[str, dict[str, Any]] = {}
        self.child_reply: dict[str, Any] | None = None
        self.service_error: str | None = None
        self.setup_error: str | None = None
        try:
            harness.warm(payload)
        except Exception:
            pass

    def on_message(self, message: Any) -> Any:
        if not isinstance(message, dict) or self.nonce is None or message.get("n") != self.nonce:
            self._tamper("frame without the run's nonce")
            return None
        kind = message.get("t")
        if kind == "tamper":
            self._tamper(f"guard refused {str(message.get('why'))[:120]}")
            return None
        if kind == "setup_error" and not self.frames:
            self.setup_error = str(message.get("err"))[:500]
            self.frames["setup_error"] = True
            return None
        if self.job == "probe":
            return self._probe_frame(kind, message)
        if kind == "oracle":
            if "oracle" in self.frames:
                self._tamper("second oracle frame")
                return None
            self.frames["oracle"] = True
            self.child_reply = self._relay(message)
            return self.child_reply
        if kind in _SIGNALS or kind == "done":
            if "oracle" not in self.frames or kind in self.frames or "done" in self.frames \
                    or (kind in _SIGNALS and _SIGNALS[kind] != self.mode):
                self._tamper(f"unexpected {kind!r} frame")
                return None
            self.frames[kind] = {k: v for k, v in message.items() if k != "n"}
            return None
        self._tamper(f"unknown frame {str(kind)[:40]!r}")
        return None

    def _probe_frame(self, kind: Any, message: dict[str, Any]) -> None:
        which = message.get("which")
        if which not in ("C", "D"):
            self._tamper("probe frame without C/D")
            return None
        entry = self.probes.setdefault(which, {})
        if kind == "miss" and which == "D" and entry.get("begun") and "returned" not in entry:
            key = message.get("k")
            if isinstance(key, str) and len(key) <= _MAX_KEY:
                misses = entry.setdefault("misses", [])
                if len(misses) < _MAX_MISSES:
                    misses.append(key)
            else:  # a call the canonical cannot be asked about: D stays undetermined
                entry["untransferable"] = str(message.get("why"))[:200]
            return None
        if kind == "begin" and not entry:
            entry["begun"] = True
        elif kind == "end" and entry.get("begun") and "returned" not in entry:
            returned = message.get("returned")
            entry["returned"] = returned if returned in (True, False, None) else None
            entry["err"] = str(message.get("err"))[:300] if message.get("err") is not None else None
        else:
            self._tamper(f"unexpected probe frame {str(kind)[:20]!r}")
        return None

    def _relay(self, frame: dict[str, Any]) -> dict[str, Any]:
        if not self.service or not self.token:
            self.service_error = "no verdict service configured"
            return {"ok": False}
        try:
            reply = ask_service(self.service, {"token": self.token, "oracle": frame})
        except (OSError, EOFError, ValueError, struct.error) as exc:
            self.service_error = f"verdict service unreachable: {exc!r}"[:300]
            return {"ok": False}
        if not isinstance(reply, dict) or not isinstance(reply.get("child"), dict):
            self.service_error = f"verdict service refused: {str(reply)[:200]}"
            return {"ok": False}
        return reply["child"]

    def _tamper(self, reason: str) -> None:
        if len(self.tampered) < 20:
            self.tampered.append(reason)

    def finish(self, result: Any) -> dict[str, Any]:
        return {"tampered": self.tampered, "frames": self.frames, "probes": self.probes,
                "service_error": self.service_error, "setup_error": self.setup_error,
                "verdict": (self.child_reply or {}).get("ok")}
