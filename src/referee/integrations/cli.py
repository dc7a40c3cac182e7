"""`referee loopholes serve` (registered by the loopholes CLI): the HTTP reward server's command line."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer


def reward_serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 for all: a token is then required)."),
    port: int = typer.Option(8100, min=0, max=65535, help="TCP port."),
    problems: Path | None = typer.Option(None, "--problems", help="Problem JSONL (default: the bundled set)."),
    workers: int | None = typer.Option(None, "--workers", "-j", help="Sandbox workers (default: all cores)."),
    ray: str | None = typer.Option(None, "--ray", help="Grade on Ray: auto or a cluster ADDRESS (referee[ray])."),
    no_token: bool = typer.Option(False, "--no-token", help="Listen beyond loopback without a token (trusted "
                                                           "networks only: OpenRLHF's client sends no header)."),
    log_level: str = typer.Option("info", help="debug, info, warning, error."),
) -> None:
    """Serve rewards over HTTP for remote-reward trainers (OpenRLHF --remote_rm_url http://HOST:PORT/get_reward).

    The bearer token comes from REFEREE_REWARD_TOKEN (never from the command line, where `ps` shows it).
    """
    from referee.integrations.reward_server import serve

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if ray is not None:
        from referee.scale import RayUnavailable, require_ray

        try:
            require_ray()
        except RayUnavailable as exc:
            typer.echo(f"error: --ray {ray}: {exc}", err=True)
            raise typer.Exit(3) from None
    try:
        code = serve(host=host, port=port, problems=str(problems) if problems else None, workers=workers, ray=ray,
                     token=os.environ.get("REFEREE_REWARD_TOKEN") or None, allow_no_token=no_token,
                     log_level=log_level)
    except (OSError, ValueError) as exc:
        typer.echo(f"error: cannot start the reward server: {exc}", err=True)
        raise typer.Exit(3) from None
    raise typer.Exit(code)
