"""The `referee` command: one Typer app, one sub-command group (or command set) per part.

Each part owns its commands in its own `cli.py` and exposes `register(app)`, so parts stay independent and
importing the CLI does not import PyTorch, FastAPI or SQLAlchemy until a command that needs them runs.
"""

from __future__ import annotations

import typer

from referee import __version__

app = typer.Typer(
    name="referee",
    help="Independent referee for AI-written code: PASS, FLAG or FAIL with evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"referee {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Independent referee for AI-written code."""


@app.command("sandbox-info")
def sandbox_info(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show which isolation layers the sandbox gets on this machine and how fast a job runs."""
    import json
    import time

    from referee.sandbox import Job, Sandbox

    with Sandbox() as sandbox:
        start = time.perf_counter()
        results = sandbox.map([Job(code="print(sum(range(1000)))") for _ in range(200)])
        elapsed = time.perf_counter() - start
        info = sandbox.isolation
    info["jobs_per_s"] = round(len(results) / elapsed, 1)
    info["all_ok"] = all(r.ok and r.stdout == b"499500\n" for r in results)
    if json_out:
        typer.echo(json.dumps(info, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="referee sandbox on this machine")
    table.add_column("layer")
    table.add_column("state")
    for key, value in info.items():
        table.add_row(key, str(value))
    Console().print(table)


def _register_parts() -> None:
    from referee.bench import cli as bench_cli
    from referee.integrations import cli as integrations_cli
    from referee.loopholes import cli as loopholes_cli
    from referee.service import cli as service_cli
    from referee.submissions import cli as submissions_cli

    for part in (loopholes_cli, submissions_cli, bench_cli, service_cli, integrations_cli):
        part.register(app)


_register_parts()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
