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


def kernelbot_tasks(
    problems_dir: Path = typer.Argument(..., exists=True, file_okay=False,
                                        help="reference-kernels `problems/` folder."),
    competition: Path | None = typer.Option(None, "--competition", "-c",
                                            help="Competition file (pmpp_v2.yaml); default: every task folder."),
    url: str = typer.Option("http://127.0.0.1:8000", "--url", help="The audit service."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Read and check the folders; register nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Register kernelbot's leaderboards as audit-service tasks (one per leaderboard, under its name).

    Uses REFEREE_ADMIN_TOKEN. Exit 0 when every task registered, 3 when any could not be.
    """
    import json

    from referee.integrations.kernelbot import CompetitionError, competition_tasks, register_tasks

    token = os.environ.get("REFEREE_ADMIN_TOKEN", "")
    if not token and not dry_run:
        typer.echo("error: set REFEREE_ADMIN_TOKEN (the service's admin token)", err=True)
        raise typer.Exit(3)
    try:
        tasks = competition_tasks(problems_dir, competition)
    except CompetitionError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3) from None
    if not tasks:
        typer.echo(f"error: no task folders under {problems_dir}", err=True)
        raise typer.Exit(3)
    results = register_tasks(tasks, url, token, dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        for row in results:
            typer.echo(f"{row['name']:<32} {row['outcome']:<8} {row.get('detail') or row.get('version') or ''}")
    raise typer.Exit(3 if any(r["outcome"] == "error" for r in results) else 0)


def register(app: typer.Typer) -> None:
    """Top-level integration commands."""
    app.command("kernelbot-tasks")(kernelbot_tasks)
