"""Commands of the submissions part (registered on the main app by referee.cli)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach this part's commands to the main app."""
