"""Test backends for the actor pool (imported inside Ray actors by module path)."""

from __future__ import annotations

import os
import signal


class KillOnPoison:
    """Echoes items; the item 'poison' kills the actor's own process, as a worker lost to the OOM killer would be."""

    def __call__(self, item: str) -> str:
        if item == "poison":
            os.kill(os.getpid(), signal.SIGKILL)
        return f"ok {item}"
