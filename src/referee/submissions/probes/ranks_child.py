"""The driver's side of a distributed run: one forked process per rank, joined in a gloo process group.

`fork_ranks` runs first in the sandbox job, before the channel is moved or anything of the task is imported:
ranks 1..N-1 get `/dev/null` as their channel (only rank 0 reports), then every rank runs the same driver with
its own `rank`, so the collectives of the reference and of the submission line up call for call. The process
group uses a FileStore in the job's private work dir and gloo over the sandbox's loopback (`probes/ranks.py`).
"""

from __future__ import annotations

import datetime
import os
import signal
import time
from typing import Any

from referee.sandbox.child import CHANNEL_FD

#: seconds a collective may wait for the other ranks (a rank that stopped must not hang the others for 30 min)
RANK_TIMEOUT_S = 60.0
#: seconds rank 0 waits for the other ranks after its last frame before it ends them
PEER_GRACE_S = 10.0


def fork_ranks(payload: dict[str, Any]) -> tuple[dict[str, Any], list[int] | None]:
    """(this process's payload, rank 0: the other ranks' pids / a peer: None); a plain task is left alone."""
    ranks = int(payload.get("ranks") or 1)
    if ranks <= 1:
        return payload, []
    payload = {**payload, "rank_store": os.path.join(os.getcwd(), ".ranks-" + os.urandom(6).hex())}
    peers = []
    for rank in range(1, ranks):
        pid = os.fork()
        if pid == 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, CHANNEL_FD)  # a peer's frames reach nobody: the handler reads rank 0 only
            os.close(devnull)
            return {**payload, "rank": rank}, None
        peers.append(pid)
    return {**payload, "rank": 0}, peers


def join_ranks(payload: dict[str, Any], rank: int, ranks: int) -> None:
    import torch.distributed as dist

    timeout = datetime.timedelta(seconds=float(payload.get("rank_timeout") or RANK_TIMEOUT_S))
    dist.init_process_group("gloo", init_method="file://" + payload["rank_store"], rank=rank, world_size=ranks,
                            timeout=timeout)


def end_rank(peers: list[int] | None, status: int) -> int:
    """A peer leaves at once (it never returns into the sandbox's child code); rank 0 reaps the others."""
    if peers is None:
        os._exit(0)
    pending = set(peers)
    deadline = time.monotonic() + PEER_GRACE_S
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                pending.discard(pid)
        time.sleep(0.05)
    for pid in pending:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return status
