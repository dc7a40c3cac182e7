"""referee: an independent referee for AI-written code.

It never trusts the producer's own numbers or claims; it re-derives them and says PASS, FLAG or FAIL with
evidence and an action for each finding.
"""

from referee.report import Evidence, Finding, Report, Verdict

__all__ = ["Evidence", "Finding", "Report", "Verdict"]
__version__ = "0.1.0"
