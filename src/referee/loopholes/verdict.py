"""The verdict service: the only place that holds expected values while a completion runs.

It lives in the grading process (a thread and a Unix socket in a private 0700 directory). A fork server's relay
connects to it once per run with the child's oracle frame; the service judges the frame (`oracle.judge`), keeps
the verdict for the grader, and answers with what the child may learn once its outputs are committed: the
verdict bit, plus - in eq_override mode - the expected values of the tests whose outputs were not plain values,
sealed with a key agreed with the child that the relaying fork server never sees (`sealing`).

Only the fork servers may ask: the peer must run as this process's user and be a direct child of this process
(the sandbox's fork servers are; their jobs are children of a fork server, and when they run as the same uid
the parent-pid check still refuses them). Each token is answered once; a second frame for it is refused.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import struct
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any

from referee.loopholes.modes import EnvMode
from referee.loopholes.oracle import OracleVerdict, judge
from referee.loopholes.sealing import seal
from referee.loopholes.testcases import TestPlan

_MAX_REQUEST = 64 << 20


@dataclass
class _Pending:
    plan: TestPlan
    mode: EnvMode
    verdict: OracleVerdict | None = None
    #: indices whose expected values were released to the child (eq_override mode, non-plain outputs)
    released: list[int] = field(default_factory=list)


def _peer_allowed(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _ = struct.unpack("3i", creds)
    if uid != os.geteuid():
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    fields = stat[stat.rfind(b")") + 2:].split()
    return len(fields) > 1 and int(fields[1]) == os.getpid()


class VerdictService:
    """Holds expected values per pending run and judges oracle frames relayed by the fork servers."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="referee-verdict-")
        os.chmod(self._dir, 0o700)
        self.path = os.path.join(self._dir, "verdict.sock")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        self._sock.listen(128)
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.refused = 0
        self._thread = threading.Thread(target=self._serve, name="referee-verdict", daemon=True)
        self._thread.start()

    def register(self, plan: TestPlan, mode: EnvMode) -> str:
        token = secrets.token_hex(16)
        with self._lock:
            self._pending[token] = _Pending(plan, mode)
        return token

    def take(self, token: str) -> tuple[OracleVerdict | None, list[int]]:
        """The verdict judged for this run (None if the child never committed) and the released indices."""
        with self._lock:
            entry = self._pending.pop(token, None)
        if entry is None:
            return None, []
        return entry.verdict, entry.released

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.settimeout(10.0)
                    if not _peer_allowed(conn):
                        self.refused += 1
                        continue
                    reply = self._handle(self._read(conn))
                    data = json.dumps(reply, separators=(",", ":")).encode()
                    conn.sendall(struct.pack(">I", len(data)) + data)
                except (OSError, ValueError, EOFError, struct.error):
                    continue

    @staticmethod
    def _read(conn: socket.socket) -> Any:
        header = b""
        while len(header) < 4:
            chunk = conn.recv(4 - len(header))
            if not chunk:
                raise EOFError
            header += chunk
        (size,) = struct.unpack(">I", header)
        if size > _MAX_REQUEST:
            raise ValueError("request too large")
        chunks, left = [], size
        while left:
            chunk = conn.recv(min(left, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return json.loads(b"".join(chunks))

    def _handle(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict):
            return {"error": "bad request"}
        with self._lock:
            entry = self._pending.get(str(request.get("token")))
            if entry is None or entry.verdict is not None:
                return {"error": "unknown or already judged token"}
            try:
                verdict = judge(entry.plan, request.get("oracle"))
            except Exception as exc:  # a judging bug must not kill the service thread
                verdict = judge(entry.plan, None)
                verdict.malformed = f"judge failed: {exc!r}"[:200]
            entry.verdict = verdict
            child: dict[str, Any] = {"ok": verdict.correct}
            frame = request.get("oracle")
            if entry.mode == "eq_override" and verdict.opaque and isinstance(frame, dict):
                # sealed for the child alone: the fork server it passes through must never hold it (`sealing`)
                values = {str(i): entry.plan.expected_encoded(i) for i in verdict.opaque}
                sealed = seal(frame.get("dh"), json.dumps(values, separators=(",", ":")).encode())
                if sealed is not None:
                    entry.released = list(verdict.opaque)
                    child["eqs"] = sealed
        return {"child": child}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(timeout=2)
        shutil.rmtree(self._dir, ignore_errors=True)
