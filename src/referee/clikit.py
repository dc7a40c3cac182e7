"""The contract every `referee` command keeps with scripts: exit codes, error messages, outputs, signals.

Exit codes (docs/cli.md):

    0 PASS   1 FLAG   2 FAIL   3 DEGRADED (the referee could not do its job: an internal error, a sandbox that
    does not start, inputs it cannot read)   4 usage error (missing or wrong-kind file, bad option value, unknown
    option)   5 I/O error (an output that cannot be written)   130 interrupted (Ctrl-C; finished records are kept)

Verdict codes come from `Verdict.exit_code`; all of them are named in `referee.exitcodes` (Typer-free, for fast
paths such as `audit --api-mode`) and re-exported here, so every part imports one set. A usage or
I/O error never looks like a verdict, and no traceback reaches a user (`REFEREE_DEBUG=1` shows it).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import typer

from referee.exitcodes import (  # noqa: F401  (re-exported: parts import the codes from here or there)
    EXIT_CODES,
    EXIT_DEGRADED,
    EXIT_FAIL,
    EXIT_FLAG,
    EXIT_INTERRUPTED,
    EXIT_IO,
    EXIT_PASS,
    EXIT_USAGE,
)


def say(message: str) -> None:
    """One line on stderr, prefixed so it is clear which program speaks."""
    typer.echo(f"referee: {message}", err=True)


def usage_error(message: str) -> NoReturn:
    say(f"error: {message}")
    raise typer.Exit(EXIT_USAGE)


def io_error(message: str) -> NoReturn:
    say(f"error: {message}")
    raise typer.Exit(EXIT_IO)


def output_problem(path: Path) -> str | None:
    """Why `path` cannot be written as an output file, or None when it can (checked before any work starts)."""
    if path.is_dir():
        return "is a directory"
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        return f"folder {parent} does not exist"
    if not parent.is_dir():
        return f"{parent} is not a folder"
    if path.exists():
        if not os.access(path, os.W_OK):
            return "is not writable"
    elif not os.access(parent, os.W_OK | os.X_OK):
        return f"folder {parent} is not writable"
    return None


def check_outputs(*outputs: tuple[str, Path | None]) -> None:
    """Exit with EXIT_IO (before any work) when an output path given as (option, path) cannot be written."""
    for option, path in outputs:
        if path is None:
            continue
        problem = output_problem(path)
        if problem is not None:
            io_error(f"{option} {path}: {problem}")


def write_outputs(outputs: Sequence[tuple[str, Path | None, Callable[[], str]]]) -> list[str]:
    """Write every (option, path, render) output; a failure is reported and the others are still written.

    Returns the failures (empty when all were written); the caller prints its report anyway and then exits
    with EXIT_IO, so a computed report is never lost because one output could not be written.
    """
    failed = []
    for option, path, render in outputs:
        if path is None:
            continue
        try:
            path.write_text(render(), encoding="utf-8")
        except OSError as exc:
            failed.append(f"{option} {path}: {exc.strerror or exc}")
            say(f"error: could not write {option} {path}: {exc.strerror or exc}")
    return failed


_leave_now = False


def interrupted(written: int, out: Path | str | None, total: int | None = None) -> NoReturn:
    """Say how much of an interrupted batch was kept, then exit EXIT_INTERRUPTED without waiting for work in flight.

    Queued work is already cancelled by then; what is still running (a sandboxed job up to its wall limit) is
    abandoned: the console entry point leaves at once (`leave_if_interrupted`) and each fork server, finding its
    pipe closed, exits after its current job, whose limits it still enforces.
    """
    global _leave_now
    of = f" of {total}" if total is not None else ""
    where = f" to {out}" if out is not None else ""
    say(f"interrupted: {written}{of} finished record(s) written{where}; unfinished work was cancelled")
    _leave_now = True
    raise typer.Exit(EXIT_INTERRUPTED)


def abandoning() -> bool:
    """True once `interrupted` ran: cleanup that would wait for running work must be skipped."""
    return _leave_now


def leave_if_interrupted(code: object) -> None:
    """Console entry point only: after an interrupt, exit now instead of joining worker threads still running."""
    if not _leave_now:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code if isinstance(code, int) else EXIT_INTERRUPTED)


class _PipeSafe(io.TextIOBase):
    """stdout that goes quiet when the reader leaves (`referee ... | head`) instead of raising BrokenPipeError.

    The command then finishes and exits with its verdict's code: a pipe closed early is the reader's choice, not a
    failure of the audit.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._went_away()
        return len(text)

    def flush(self) -> None:
        if not self.closed_by_reader:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._went_away()

    def _went_away(self) -> None:
        self.closed_by_reader = True
        try:  # point the descriptor at /dev/null so the interpreter's final flush cannot fail either
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, io.UnsupportedOperation):
            pass

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, buffer ...
        return getattr(self._stream, name)

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    def writable(self) -> bool:
        return True


def _click_exceptions() -> Any:
    try:  # Typer 0.2x vendors click; older releases use the click package
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - depends on the installed Typer
        from click import exceptions
    return exceptions


def guarded(call: Callable[[], Any]) -> int:
    """Run a command under the contract (the Typer/click main in non-standalone mode) and return its exit code."""
    click = _click_exceptions()
    original = sys.stdout
    if sys.stdout is not None and not isinstance(sys.stdout, _PipeSafe):
        sys.stdout = _PipeSafe(sys.stdout)
    try:
        return _outcome(call, click)
    finally:
        if isinstance(sys.stdout, _PipeSafe) and sys.stdout is not original:
            sys.stdout.flush()
            sys.stdout = original


def _outcome(call: Callable[[], Any], click: Any) -> int:
    try:
        code = call()
    except typer.Exit as exc:
        code = exc.exit_code
    except click.UsageError as exc:  # unknown option, missing file, bad value: click's own checks
        _show(exc)
        return EXIT_USAGE
    except click.ClickException as exc:
        _show(exc)
        return EXIT_USAGE if exc.exit_code == 2 else EXIT_DEGRADED
    except (typer.Abort, KeyboardInterrupt):
        say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_PASS
    except OSError as exc:  # a file or device that failed under a command that did not expect it
        if os.environ.get("REFEREE_DEBUG"):
            raise
        where = f" {exc.filename}" if exc.filename else ""
        say(f"I/O error:{where}: {exc.strerror or exc} (set REFEREE_DEBUG=1 for the traceback)")
        return EXIT_IO
    except Exception as exc:  # a bug of ours: one line for the user, the traceback only when asked for
        if os.environ.get("REFEREE_DEBUG"):
            raise
        say(f"internal error: {type(exc).__name__}: {str(exc)[:300]} (set REFEREE_DEBUG=1 for the traceback)")
        return EXIT_DEGRADED
    return code if isinstance(code, int) else EXIT_PASS


def _show(exc: Any) -> None:
    try:
        from typer import rich_utils

        rich_utils.rich_format_error(exc)
    except Exception:  # an older Typer without rich errors
        exc.show()


def _group_class() -> Any:
    from typer.core import TyperGroup

    class ContractGroup(TyperGroup):
        """The root command group: its standalone `main` maps every outcome onto the documented exit codes.

        Living in the group (not only in the console script) means `CliRunner` tests and `python -m referee.cli`
        see the same codes as the installed `referee`.
        """

        def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
                 standalone_mode: bool = True, **extra: Any) -> Any:
            parent = super().main
            if not standalone_mode:
                return parent(args, prog_name, complete_var, standalone_mode=False, **extra)
            sys.exit(guarded(lambda: parent(args, prog_name or "referee", complete_var, standalone_mode=False,
                                            **extra)))

    return ContractGroup


ContractGroup = _group_class()
