"""`referee loopholes serve` (registered by the loopholes CLI): the HTTP reward server's command line."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer

from referee.clikit import EXIT_DEGRADED, say, usage_error

EXIT_NO_TOKEN = -1  # serve()'s answer when it refuses to listen beyond loopback without a token


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
            usage_error(f"--ray {ray}: {exc}")
    try:
        code = serve(host=host, port=port, problems=str(problems) if problems else None, workers=workers, ray=ray,
                     token=os.environ.get("REFEREE_REWARD_TOKEN") or None, allow_no_token=no_token,
                     log_level=log_level)
    except (OSError, ValueError) as exc:
        say(f"error: cannot start the reward server: {exc}")
        raise typer.Exit(EXIT_DEGRADED) from None
    if code == EXIT_NO_TOKEN:
        usage_error(f"refusing to listen on {host} without a token: set REFEREE_REWARD_TOKEN, or --no-token on a "
                    "trusted network (OpenRLHF's client cannot send one)")
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

    Uses REFEREE_ADMIN_TOKEN. Exit 0 when every task registered, 3 when any could not be, 4 on a usage error.
    """
    import json

    from referee.integrations.kernelbot import CompetitionError, competition_tasks, register_tasks

    token = os.environ.get("REFEREE_ADMIN_TOKEN", "")
    if not token and not dry_run:
        usage_error("set REFEREE_ADMIN_TOKEN (the service's admin token)")
    try:
        tasks = competition_tasks(problems_dir, competition)
    except CompetitionError as exc:
        usage_error(str(exc))
    if not tasks:
        usage_error(f"no task folders under {problems_dir}")
    results = register_tasks(tasks, url, token, dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        for row in results:
            typer.echo(f"{row['name']:<32} {row['outcome']:<8} {row.get('detail') or row.get('version') or ''}")
    raise typer.Exit(EXIT_DEGRADED if any(r["outcome"] == "error" for r in results) else 0)


def register(app: typer.Typer) -> None:
    """Top-level integration commands."""
    app.command("kernelbot-tasks")(kernelbot_tasks)
