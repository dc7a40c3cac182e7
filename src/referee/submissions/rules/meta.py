"""Findings the engine itself emits: unparseable or oversized submissions, and rules that crashed."""

from __future__ import annotations

from referee.report import Verdict
from referee.submissions.rules.registry import Rule, register

register(Rule(
    id="SYN001", title="Submission does not parse", family="engine", verdict=Verdict.FLAG,
    what="Reports a submission that Python cannot parse (syntax error, null bytes, nesting too deep).",
    why="Nothing can be checked statically in code that does not parse, and the leaderboard will not run it "
        "either; a file that only the target interpreter accepts may be trying to blind the scanner.",
    action="Reject or ask for a file that parses with the task's Python version; review by hand if it runs.",
    example="def custom_kernel(data)\n    return data",
    use_instead="def custom_kernel(data):\n    return data.clone()",
))

register(Rule(
    id="SYN002", title="Submission too large to audit", family="engine", verdict=Verdict.FAIL,
    what="Reports a submission larger than the static analyser's size limit (4 Mi characters, about 50 times "
         "the largest real leaderboard entries); every smaller file is scanned in full, comments included.",
    why="Padding a file with megabytes of comments or data is a way to push a cheat past analysers with size "
        "limits (a padded replay cache got only a FLAG and `should_filter: false`). A file that cannot be "
        "checked is filtered with this reason rather than accepted unchecked.",
    action="Filter the submission (FAIL): it was not analysed because of its size; ask for the kernel without "
           "the padding.",
    example="# " + "x" * 40 + "... (megabytes of comment)\ndef custom_kernel(data): ...",
    use_instead="def custom_kernel(data):\n    return data.clone()",
))

register(Rule(
    id="ENG002", title="Submission too costly to analyse", family="engine", verdict=Verdict.FAIL,
    what="Reports a submission whose static analysis ran out of its CPU-time budget (10 s of the analysing "
         "thread's CPU, not wall time, so a busy machine does not trigger it) before every rule had run.",
    why="Code built to make an analyser super-linear is a way to get a cheat past it unchecked; real entries "
        "take milliseconds to a tenth of a second. A file that cannot be fully checked is filtered with this "
        "reason rather than accepted.",
    action="Filter the submission (FAIL): it was not fully analysed; ask for a plainer file.",
    example="X = " + "(" * 40 + "..." + ")" * 40 + "  # pathological nesting repeated megabytes deep",
    use_instead="def custom_kernel(data):\n    return data.clone()",
))

register(Rule(
    id="ENG001", title="Static rule could not finish", family="engine", verdict=Verdict.FLAG,
    what="Reports a static rule that raised an internal error on this submission; the other rules still ran.",
    why="A crash in the analyser means part of the audit is missing; unusual code that breaks analysers is "
        "itself worth a look.",
    action="Review by hand and report the crash to the referee maintainers with the submission attached.",
    example="# any input that makes a rule crash",
    use_instead="# ordinary code",
))
