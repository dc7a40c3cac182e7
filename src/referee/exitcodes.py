"""The exit codes of every `referee` command (docs/cli.md), importable without Typer for the fast paths.

0-3 are the verdicts (`Verdict.exit_code`); the rest are never a verdict, so a script can tell "the referee found
a cheat" from "the referee was called wrongly" from "an output could not be written".
"""

EXIT_PASS = 0
EXIT_FLAG = 1
EXIT_FAIL = 2
EXIT_DEGRADED = 3  # the referee could not do its job: unreadable input, no sandbox, an internal error
EXIT_USAGE = 4  # missing or wrong-kind file, bad or unknown option or value, unknown rule id
EXIT_IO = 5  # an output (--out, --html, --sarif) cannot be written
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a Ctrl-C'd command

EXIT_CODES = {EXIT_PASS: "PASS", EXIT_FLAG: "FLAG", EXIT_FAIL: "FAIL", EXIT_DEGRADED: "DEGRADED",
              EXIT_USAGE: "usage error", EXIT_IO: "I/O error", EXIT_INTERRUPTED: "interrupted"}
