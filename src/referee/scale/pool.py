"""An ordered, self-healing pool of Ray actors, each holding one warm referee backend (a fork-server sandbox).

Why actors and not plain Ray tasks: a sandbox takes a second or more to start (and torch preloading for the
submission probes much longer), so every worker keeps one for its whole life and serves many items from it.

`ActorPool.imap(items)` yields one result per item, in input order, with a bounded look-ahead window (memory stays
flat on a million-line batch). When an actor dies mid-item (its process was killed, its node went away) the pool
starts a replacement and sends the item to another live actor; an item is tried at most `max_tries` times and then
yields `on_give_up(item, reason)`, so a batch never loses a record and never repeats one.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from referee.scale.cluster import RayUnavailable, cluster_resource, require_ray

#: in-flight items per actor slot: enough to hide a round trip, small enough to keep memory flat
WINDOW_PER_SLOT = 2
DEFAULT_MAX_TRIES = 3
#: a torch-preloading probe sandbox can take a minute to start on a loaded machine
START_TIMEOUT_S = 600.0


class ActorHost:
    """What runs inside each Ray actor: builds its backend once (``module:function(**kwargs)``), then serves items.

    The backend is a callable ``backend(item) -> result``; it may expose ``close()``.
    """

    def __init__(self, factory: str, kwargs: dict[str, Any]) -> None:
        module, _, name = factory.partition(":")
        self.backend = getattr(importlib.import_module(module), name)(**kwargs)

    def run(self, item: Any) -> Any:
        return self.backend(item)

    def info(self) -> dict[str, Any]:
        """The actor's process id and the GPUs Ray gave it (tests kill the pid; GPU audits check the ids)."""
        import ray

        return {"pid": os.getpid(), "gpu_ids": [str(g) for g in ray.get_gpu_ids()],
                "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}

    def close(self) -> None:
        close = getattr(self.backend, "close", None)
        if callable(close):
            close()


@dataclass
class _Pending:
    item: Any
    ref: Any
    actor: int
    #: the actor handle the item was sent to (the slot may hold a replacement by the time the item fails)
    handle: Any
    tries: int


class ActorPool:
    """`workers` actors of `ActorHost(factory, kwargs)`, each asking Ray for `num_cpus`/`num_gpus`."""

    def __init__(self, factory: str, kwargs: dict[str, Any], *, workers: int, slots: int = 1,
                 num_cpus: float = 1.0, num_gpus: float = 0.0, max_tries: int = DEFAULT_MAX_TRIES,
                 on_give_up: Callable[[Any, str], Any] | None = None) -> None:
        self.ray = require_ray()
        self.factory, self.kwargs = factory, kwargs
        self.workers, self.slots = max(1, workers), max(1, slots)
        self.num_cpus, self.num_gpus = num_cpus, num_gpus
        self.max_tries = max(1, max_tries)
        self.on_give_up = on_give_up
        self._check_fits()
        self._remote = self.ray.remote(ActorHost)
        self.actors: list[Any] = [self._start() for _ in range(self.workers)]
        self.restarts = 0
        self._next = 0
        # wait until every backend is up, so a broken sandbox fails here and not on item one
        try:
            self.ray.get([actor.info.remote() for actor in self.actors], timeout=START_TIMEOUT_S)
        except self.ray.exceptions.GetTimeoutError:
            self.close()
            raise RayUnavailable(f"the {self.workers} Ray workers did not start within {START_TIMEOUT_S:.0f} s "
                                 "(is the cluster short of CPUs/GPUs?)") from None

    def _check_fits(self) -> None:
        """Asking for more than the whole cluster has would leave the actors pending forever: say so instead."""
        for resource, each in (("CPU", self.num_cpus), ("GPU", self.num_gpus)):
            total = cluster_resource(resource)
            if each and self.workers * each > total:
                raise RayUnavailable(f"{self.workers} workers x {each:g} {resource} is more than the cluster's "
                                     f"{total:g} {resource}; ask for fewer workers (-j)")

    def _start(self) -> Any:
        return self._remote.options(num_cpus=self.num_cpus, num_gpus=self.num_gpus,
                                    max_concurrency=self.slots).remote(self.factory, self.kwargs)

    def infos(self) -> list[dict[str, Any]]:
        return self.ray.get([actor.info.remote() for actor in self.actors])

    def _submit(self, item: Any, tries: int, avoid: int | None = None) -> _Pending:
        index = self._next % len(self.actors)
        if index == avoid and len(self.actors) > 1:
            index = (index + 1) % len(self.actors)
        self._next = index + 1
        handle = self.actors[index]
        return _Pending(item, handle.run.remote(item), index, handle, tries + 1)

    def _replace(self, index: int, dead: Any) -> None:
        """Start a fresh actor in the dead one's place (once, however many of its items report the death)."""
        if self.actors[index] is dead:
            with contextlib.suppress(Exception):
                self.ray.kill(dead, no_restart=True)
            self.actors[index] = self._start()
            self.restarts += 1

    def imap(self, items: Iterable[Any]) -> Iterator[Any]:
        window: deque[_Pending] = deque()
        limit = self.workers * self.slots * WINDOW_PER_SLOT
        source = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(window) < limit:
                try:
                    window.append(self._submit(next(source), 0))
                except StopIteration:
                    exhausted = True
            if not window:
                return
            yield self._settle(window[0])
            window.popleft()

    def _settle(self, pending: _Pending) -> Any:
        """The result of the window's head, resubmitting it to another actor while its actor keeps dying."""
        errors = self.ray.exceptions
        lost = (errors.RayActorError, errors.WorkerCrashedError, errors.ObjectLostError)
        while True:
            try:
                return self.ray.get(pending.ref)
            except lost as exc:
                self._replace(pending.actor, pending.handle)
                reason = f"worker lost on try {pending.tries}: {type(exc).__name__}"
                if pending.tries >= self.max_tries:
                    return self._give_up(pending.item, reason)
                fresh = self._submit(pending.item, pending.tries, avoid=pending.actor)
                pending.ref, pending.actor, pending.handle, pending.tries = (fresh.ref, fresh.actor, fresh.handle,
                                                                             fresh.tries)
            except errors.RayTaskError as exc:  # the backend raised: a referee bug, one record, not the batch
                return self._give_up(pending.item, f"backend failed: {getattr(exc, 'cause', exc)!r}"[:500])

    def _give_up(self, item: Any, reason: str) -> Any:
        if self.on_give_up is None:
            raise RuntimeError(reason)
        return self.on_give_up(item, reason)

    def close(self) -> None:
        for actor in self.actors:
            with contextlib.suppress(Exception):
                self.ray.get(actor.close.remote(), timeout=30)
            with contextlib.suppress(Exception):
                self.ray.kill(actor, no_restart=True)
        self.actors = []

