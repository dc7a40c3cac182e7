"""The `referee` command: one Typer app, one sub-command group (or command set) per part.

Each part owns its commands in its own `cli.py` and exposes `register(app)`, so parts stay independent and
importing the CLI does not import PyTorch, FastAPI or SQLAlchemy until a command that needs them runs.
"""

from __future__ import annotations

import typer

from referee import __version__
from referee.clikit import ContractGroup

app = typer.Typer(
    cls=ContractGroup,
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


@app.command("rules")
def rules(
    rule_id: str | None = typer.Argument(None, help="Show this rule in full (a rulebook id or an old alias)."),
    part: str | None = typer.Option(None, "--part", "-p", help="Only rules of this part: "
                                    "submissions, probes, bench, loopholes."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List every rule referee can report, or explain one (the rulebook; also docs/rules.md)."""
    import json

    from rich.console import Console

    from referee import rulebook
    from referee.clikit import usage_error
    from referee.rulebook_docs import render_listing, render_terminal

    if part is not None and part not in rulebook.PARTS:
        usage_error(f"unknown --part {part!r}; choose one of {', '.join(rulebook.PARTS)}")
    if rule_id is not None:
        spec = rulebook.resolve(rule_id)
        if spec is None or (part is not None and spec.part != part):
            usage_error(f"unknown rule {rule_id!r}; `referee rules` lists them")
        if json_out:
            typer.echo(json.dumps(spec.to_dict(), indent=2))
        else:
            render_terminal(spec, Console())
        return
    specs = rulebook.specs(part)
    if json_out:
        typer.echo(json.dumps([s.to_dict() for s in specs], indent=2))
    else:
        render_listing(specs, Console())


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
    """Console entry point; the exit-code contract (docs/cli.md) lives in the app's `ContractGroup`."""
    from referee.clikit import leave_if_interrupted

    try:
        app()
    except SystemExit as exc:
        leave_if_interrupted(exc.code)  # Ctrl-C: do not wait for sandboxed jobs that were already running
        raise


if __name__ == "__main__":
    main()
