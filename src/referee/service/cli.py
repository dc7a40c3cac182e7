"""Commands of the service part: `referee serve` (the HTTP API) and `referee worker` (the audit runners).

Both read REFEREE_DATABASE_URL (default: a SQLite file in the user's data dir) and REFEREE_ADMIN_TOKEN, migrate
the database on start, and log to stderr. Heavy imports (FastAPI, SQLAlchemy, uvicorn) happen inside the commands.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import typer

from referee.clikit import EXIT_USAGE

# Exit codes of serve and worker, in step with the CLI contract (docs/cli.md).
EXIT_CONFIG = EXIT_USAGE  # a bad setting or option: fix the configuration
EXIT_UNAVAILABLE = 3  # the database, the auditor or the sandbox cannot be used


def _logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _settings(command: str) -> Any:
    from referee.service.settings import Settings

    try:
        return Settings.from_env()
    except ValueError as exc:
        typer.echo(f"referee {command}: bad configuration: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


URL_FILE_HELP = ("File holding the database URL (overrides REFEREE_DATABASE_URL). The URL holds the password, so "
                 "it is never taken on the command line, where every local process can read it.")


def _database_url_from(path: Path | None, refused: str | None, command: str) -> None:
    """`--database-url-file` wins over the environment; the old `--database-url URL` is refused, clearly."""
    if refused:
        typer.echo(f"referee {command}: --database-url is no longer accepted: a URL on the command line shows its "
                   "password to every local process (/proc/*/cmdline). Set REFEREE_DATABASE_URL, or put the URL "
                   "in a file and pass --database-url-file FILE (or set REFEREE_DATABASE_URL_FILE).", err=True)
        raise typer.Exit(EXIT_CONFIG)
    if path is not None:
        os.environ.pop("REFEREE_DATABASE_URL", None)
        os.environ["REFEREE_DATABASE_URL_FILE"] = str(path.resolve())


def parse_options(pairs: list[str]) -> dict[str, object]:
    """KEY=VALUE pairs; VALUE is read as JSON when it parses (false, 3, "x", [..]), else kept as text."""
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"--option wants KEY=VALUE with an identifier KEY, got {pair!r}")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def check_option_names(options: dict[str, object]) -> None:
    """A misspelt `-o` key (`dynamc=false`) is an error, not an option silently ignored by every audit."""
    import dataclasses

    from referee.submissions.audit import AuditOptions

    known = {f.name for f in dataclasses.fields(AuditOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"unknown --option {', '.join(unknown)}; known: {', '.join(sorted(known))}")


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8000, min=0, max=65535, help="TCP port."),
    workers: int = typer.Option(1, min=1, max=64, help="Web server processes (not audit workers)."),
    database_url_file: Path = typer.Option(None, "--database-url-file", help=URL_FILE_HELP, dir_okay=False),
    database_url: str = typer.Option(None, "--database-url", hidden=True, help="Refused: see --database-url-file."),
    log_level: str = typer.Option("info", help="debug, info, warning, error."),
) -> None:
    """Run the audit service's HTTP API and review page (uvicorn)."""
    import uvicorn

    from referee.service.app import prepare
    from referee.store.db import Store, redact

    _logging(log_level)
    _database_url_from(database_url_file, database_url, "serve")
    settings = _settings("serve")
    try:
        store = Store(settings.database_url)
        prepare(store, register_bundled=settings.register_bundled)  # once here, so a bad URL fails before binding
        store.dispose()
    except Exception as exc:
        typer.echo(f"referee serve: cannot use the database: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(EXIT_UNAVAILABLE) from None
    admin = "enabled" if settings.admin_token else "DISABLED (set REFEREE_ADMIN_TOKEN)"
    typer.echo(f"referee serve: http://{host}:{port}  database {redact(settings.database_url)}  admin API {admin}",
               err=True)
    uvicorn.run("referee.service.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level=log_level.lower(), access_log=log_level.lower() == "debug", proxy_headers=False)


def worker(
    concurrency: int = typer.Option(1, "--concurrency", "-c", min=1, max=256,
                                    help="Audits run at once by this process (one sandbox slot each)."),
    lease_seconds: float = typer.Option(60.0, min=1.0, help="Lease length; a dead worker's audit is redone after it."),
    poll_seconds: float = typer.Option(1.0, min=0.05, help="Wait between polls of an empty queue."),
    max_audits: int = typer.Option(None, min=1, help="Exit after this many audits."),
    drain: bool = typer.Option(False, "--drain", help="Exit when the queue is empty instead of waiting."),
    retry_seconds: float = typer.Option(5.0, min=0.0, help="First retry delay after a failed attempt (doubles)."),
    auditor: str = typer.Option(None, help="module:function to audit with instead of referee.submissions."),
    option: list[str] = typer.Option(None, "--option", "-o",
                                     help="Default audit option KEY=VALUE (JSON value), e.g. dynamic=false; "
                                          "options stored with an audit (backfill) take precedence."),
    database_url_file: Path = typer.Option(None, "--database-url-file", help=URL_FILE_HELP, dir_okay=False),
    database_url: str = typer.Option(None, "--database-url", hidden=True, help="Refused: see --database-url-file."),
    name: str = typer.Option(None, help="Worker name recorded on its leases (default host:pid)."),
    requires: str = typer.Option("any", "--requires", help="Claim only audits of tasks needing this device: "
                                                           "cuda (GPU workers), cpu (leave CUDA tasks), any."),
    log_level: str = typer.Option("info", help="debug, info, warning, error."),
) -> None:
    """Run audit workers: claim pending audits, run them in the sandbox, store verdicts."""
    from referee.service.app import prepare
    from referee.service.auditing import load_auditor, make_engine_sandbox
    from referee.service.worker import Worker
    from referee.store.db import Store

    _logging(log_level)
    _database_url_from(database_url_file, database_url, "worker")
    try:
        defaults = parse_options(option or [])
        if auditor is None:
            check_option_names(defaults)
    except ValueError as exc:
        typer.echo(f"referee worker: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    try:
        audit_fn = load_auditor(auditor)
    except Exception as exc:
        typer.echo(f"referee worker: cannot load --auditor {auditor}: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    settings = _settings("worker")
    try:
        store = Store(settings.database_url)
        prepare(store, register_bundled=settings.register_bundled)
    except Exception as exc:
        typer.echo(f"referee worker: cannot use the database: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(EXIT_UNAVAILABLE) from None

    # The real engine's dynamic probes get one warm sandbox for the life of the process (started now, so a broken
    # sandbox fails here, not on the first audit). Static-only workers and custom auditors start none; should a
    # queued audit still ask for probes, the engine opens its own shared sandbox once.
    wants_sandbox = auditor is None and defaults.get("dynamic", True) is not False
    from referee.scale.devices import DeviceTasks

    try:
        device_filter = DeviceTasks(store, requires)
    except ValueError as exc:
        typer.echo(f"referee worker: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    runner = Worker(store, concurrency=concurrency, lease_s=lease_seconds, poll_s=poll_seconds, auditor=audit_fn,
                    sandbox_factory=make_engine_sandbox if wants_sandbox else None, name=name,
                    max_audits=max_audits, drain=drain, retry_base_s=retry_seconds, default_options=defaults,
                    secrets=settings.secrets(),
                    claim_where=device_filter if requires != "any" else None)

    def _stop(signum: int, _frame: object) -> None:
        logging.getLogger("referee.worker").info("signal %d: finishing the audits in hand, then exiting", signum)
        runner.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        stats = runner.run()
    except Exception as exc:  # the sandbox could not start: say so instead of a traceback
        typer.echo(f"referee worker: cannot start: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(EXIT_UNAVAILABLE) from None
    finally:
        store.dispose()
    typer.echo(f"referee worker: done {stats.done}, failed attempts {stats.failed}, lost leases {stats.lost}",
               err=True)


def service_demo(keep: bool = typer.Option(False, "--keep", help="Keep the server up to browse /admin/ui.")) -> None:
    """Run the audit service end to end on the bundled example submissions (SQLite default)."""
    from referee.service.demo import run_demo

    raise typer.Exit(run_demo(keep=keep, echo=typer.echo))


def register(app: typer.Typer) -> None:
    """Attach this part's commands to the main app."""
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.command("service-demo")(service_demo)
