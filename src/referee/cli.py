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
def sandbox_info(json_out: bool = typer.Option(False, "--json", help="Print JSON."),
                 jobs: int = typer.Option(100, "--jobs", min=10, help="Jobs per configuration and round.")) -> None:
    """Show which isolation layers the sandbox gets on this machine, why any is off, and each one's cost per job."""
    from referee.sandbox.info import show

    show(json_out, jobs)


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
