"""referee: an independent referee for AI-written code.

It never trusts the producer's own numbers or claims; it re-derives them and says PASS, FLAG or FAIL with
evidence and an action for each finding.

The result model is imported lazily so that light processes (the sandbox fork servers) stay small: every page
a fork server maps is a page each job's fork has to copy into its page tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Evidence", "Finding", "Report", "Verdict"]

if TYPE_CHECKING:
    from referee.report import Evidence, Finding, Report, Verdict


def __getattr__(name: str) -> Any:
    if name in __all__:
        from referee import report

        return getattr(report, name)
    raise AttributeError(name)
