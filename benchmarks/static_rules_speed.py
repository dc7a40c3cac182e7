"""Static-rule speed: referee's `run_static` against KernelGuard's analyzer on the same files, in the same run.

Thin entry point so every benchmark lives in benchmarks/; the measuring code is `referee.submissions.rules.bench`.
Usage: python benchmarks/static_rules_speed.py [--reps 20] [--corpus tests/submissions/rules/fixtures] [--wall]
"""

from __future__ import annotations

import sys

from referee.submissions.rules.bench import main

if __name__ == "__main__":
    sys.exit(main())
