"""Rewrite old rule ids (`PA-01`, `LH-INPUT`) to rulebook ids (`BPA010`, `LHG001`) in text files.

For tests and docs written against the old spelling: `python scripts/migrate_rule_ids.py tests/bench docs/bench.md`
(folders are searched for *.py and *.md). Prints each file it changed; `--check` changes nothing and exits 1 when
a file still names an old id. Old ids keep working at run time (they are aliases), so this is about consistency.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from referee.ruleids import LOOPHOLE_LEGACY, legacy_bench_id

BENCH = re.compile(r"(?<![\w-])(EV|BL|PA|BU|PR|HA)-\d{2}[a-z]?(?![\w-])")
LOOPHOLE = re.compile(r"(?<![\w-])(" + "|".join(re.escape(k) for k in sorted(LOOPHOLE_LEGACY, key=len,
                                                                                  reverse=True)) + r")(?![\w-])")


def rewrite(text: str) -> str:
    text = BENCH.sub(lambda m: legacy_bench_id(m.group(0)) or m.group(0), text)
    return LOOPHOLE.sub(lambda m: LOOPHOLE_LEGACY[m.group(0)], text)


def files(args: list[str]) -> list[Path]:
    out: list[Path] = []
    for arg in args:
        path = Path(arg)
        out += sorted(p for ext in ("*.py", "*.md") for p in path.rglob(ext)) if path.is_dir() else [path]
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = 0
    for path in files([a for a in argv if a != "--check"]):
        text = path.read_text(encoding="utf-8")
        new = rewrite(text)
        if new != text:
            stale += 1
            print(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    return 1 if check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
