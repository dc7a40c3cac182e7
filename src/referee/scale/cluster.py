"""Finding Ray, and joining (or starting) a cluster: the only place referee calls `ray.init`.

Ray is an optional extra (`pip install referee[ray]`). Without it, `require_ray` raises `RayUnavailable` with the
install line, which the CLIs turn into a usage error instead of a traceback.
"""

from __future__ import annotations

import os
from typing import Any

INSTALL_HINT = "Ray is not installed: pip install 'referee[ray]' (or pip install 'ray>=2.9')"


class RayUnavailable(RuntimeError):
    """Ray is missing, or the cluster cannot be reached / cannot give what was asked for."""


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailable(INSTALL_HINT) from None
    return ray


def connect(address: str | None = "auto", *, num_cpus: int | None = None) -> Any:
    """Join the cluster at `address`, once per process.

    `auto` joins the cluster named by RAY_ADDRESS or started on this machine with `ray start`, and starts a private
    local one when there is none (the zero-setup case); `local` always starts a private one; anything else
    (`ray://host:10001`, `host:6379`) must be reachable. A process that already called `ray.init` keeps its cluster.
    """
    ray = require_ray()
    if ray.is_initialized():
        return ray
    quiet = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    target = address or "auto"
    if target == "local":
        ray.init(num_cpus=num_cpus, **quiet)
        return ray
    if target != "auto":
        _check_reachable(target)
    try:
        ray.init(address=target, **({} if target.startswith("ray://") else quiet))
    except ConnectionError as exc:
        if target != "auto" or os.environ.get("RAY_ADDRESS"):
            raise RayUnavailable(f"cannot reach the Ray cluster at {target}: {exc}") from None
        ray.init(num_cpus=num_cpus, **quiet)
    return ray


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A quick TCP connect first: Ray itself retries an unreachable head for minutes before it gives up."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise RayUnavailable(f"expected auto, local, HOST:PORT or ray://HOST:PORT, got {address!r}")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise RayUnavailable(f"cannot reach the Ray cluster at {address}: {exc}") from None


def cluster_resource(name: str) -> float:
    """How much of a resource (CPU, GPU) the whole cluster has; 0 when none."""
    ray = require_ray()
    return float(ray.cluster_resources().get(name, 0.0))


def default_workers() -> int:
    """One actor per cluster CPU (each actor holds one sandbox slot)."""
    return max(1, int(cluster_resource("CPU")))


def executor_or_exit(kind: str, address: str, **kwargs: Any) -> Any:
    """For the CLIs' `--ray`: the executor, or a clear error and no traceback: a usage error (4) when Ray is
    missing or the address / the request does not fit the cluster, DEGRADED (3) when the workers will not start."""
    import typer

    from referee.clikit import EXIT_DEGRADED, say, usage_error

    try:
        from referee.scale.executors import RayAuditExecutor, RayExecutor

        return (RayExecutor if kind == "grade" else RayAuditExecutor)(address, **kwargs)
    except RayUnavailable as exc:
        usage_error(f"--ray {address}: {exc}")
    except Exception as exc:  # a cluster that refuses us: say so, do not trace back
        say(f"error: --ray {address}: could not start the Ray workers: {type(exc).__name__}: {exc}")
        raise typer.Exit(EXIT_DEGRADED) from None
