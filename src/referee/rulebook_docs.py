"""Render the rulebook for people: docs/rules.md (Markdown) and `referee rules` (terminal, JSON).

The rulebook is the single source: `python -m referee.rulebook_docs docs/rules.md` rewrites the page, `--check`
exits 1 when it is out of date (tests/test_rulebook.py runs the same comparison).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from referee import rulebook

HEADER = """# Rules

<!-- Generated from the rulebook by `python -m referee.rulebook_docs docs/rules.md`.
     Do not edit by hand: tests/test_rulebook.py fails when this page is out of date. -->

Every finding referee reports names one rule of this book, whichever part raised it: a static rule or an audit
finding on a kernel submission, a dynamic probe, a benchmark-claim rule, a loophole-grading finding. The same
entries feed `referee rules [ID] [--part P] [--json]`, the SARIF rule table of every command and this page.

## Rule ids

An id is **three capital letters and three digits**, the layout of ruff and bandit. The letters name the family
and tell which part owns the rule (a prefix never moves between parts); the digits number rules in the family.

{prefixes}

**Old ids stay valid.** Bench rules were numbered `GROUP-NN[x]` after the research notes; their rulebook id is
`B` + group + `NN*10` + the letter's place (`PA-01` = `BPA010`, `PA-01b` = `BPA012`, `HA-07` = `BHA070`), so
a companion rule sorts next to its parent. Loophole findings had word ids (`LH-INPUT` = `LHG001`). Every old id
is an alias: `referee rules PA-01` finds the rule, a stored audit or a JSON report that still says `PA-01` is read
back with the new id, and the SARIF rule table lists the old ids as `deprecatedIds`.

**Verdicts.** A rule with a fixed verdict always reports it (FAIL: the input itself is evidence; FLAG: a human
should look; DEGRADED: the referee could not judge); bench rules choose PASS, FLAG or FAIL per finding from
their threshold, named in the entry.
"""


def _aliases_table() -> list[str]:
    out = ["## Alias table", "", "| Old id | Rulebook id |", "|---|---|"]
    pairs = [(alias, s.id) for s in rulebook.specs() for alias in s.aliases]
    out += [f"| `{old}` | [{new}](#{new.lower()}) |" for old, new in sorted(pairs, key=lambda p: p[1])]
    return [*out, ""]


_PART_NOTES = {"submissions": "static rules and audit findings", "probes": "dynamic runs of a submission",
               "bench": "B + the research-note group: evidence, baseline, patch, bundle, profile, harness",
               "loopholes": "grading, exploits per mode, self-check"}


def _prefix_table() -> str:
    rows = ["| Prefixes | Part | What |", "|---|---|---|"]
    for part in rulebook.PARTS:
        prefixes = " ".join(f"`{p}`" for p, owner in rulebook.PREFIXES.items() if owner == part)
        rows.append(f"| {prefixes} | {part} | {_PART_NOTES[part]} |")
    return "\n".join(rows)


def render_markdown() -> str:
    specs = rulebook.specs()
    out = [HEADER.replace("{prefixes}", _prefix_table()), "## Summary", ""]
    for part, title in rulebook.PARTS.items():
        chosen = [s for s in specs if s.part == part]
        out += [f"### {title} ({len(chosen)})", "", "| Rule | Title | Verdict | Family | Old id |",
                "|---|---|---|---|---|"]
        out += [f"| [{s.id}](#{s.id.lower()}) | {_cell(s.title)} | {s.verdict_text} | {_cell(s.family) or '-'} | "
                f"{', '.join(f'`{a}`' for a in s.aliases) or '-'} |" for s in chosen]
        out.append("")
    out += _aliases_table()
    for part, title in rulebook.PARTS.items():
        out += [f"## {title}", ""]
        for spec in (s for s in specs if s.part == part):
            out += _section(spec)
    return "\n".join(out).rstrip() + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _section(spec: rulebook.RuleSpec) -> list[str]:
    facts = [f"**{spec.title}**", f"part **{spec.part}**", f"verdict **{spec.verdict_text}**"]
    if spec.aliases:
        facts.append("old id " + ", ".join(f"`{a}`" for a in spec.aliases))
    for key in ("scopes", "kernelguard"):
        if spec.extra.get(key):
            facts.append(f"{key}: " + ", ".join(f"`{v}`" for v in spec.extra[key]))
    lines = [f"### {spec.id}", "", " · ".join(facts), "", "#### What it does", "", spec.what, "",
             "#### Why is this bad?", "", spec.why, ""]
    if spec.example:
        lines += ["#### Example", "", "```python", spec.example, "```", ""]
    if spec.honest:
        lines += ["Honest look-alike (use instead):", "", "```python", spec.honest, "```", ""]
    if spec.known_problems:
        lines += ["#### Known problems", "", spec.known_problems, ""]
    lines += ["#### Threshold and action" if spec.verdict is None else "#### Action", "", spec.action, ""]
    if spec.fix:
        lines += ["#### Fix", "", spec.fix, ""]
    return lines


def render_terminal(spec: rulebook.RuleSpec, console: Any) -> None:
    """One rule's full entry for `referee rules ID` (plain text: rule text is never read as markup)."""
    from rich.markup import escape

    console.print(f"[bold]{spec.id}[/bold] {escape(spec.title)}", soft_wrap=True)
    facts = [f"part: {spec.part}", f"verdict: {spec.verdict_text}"]
    if spec.aliases:
        facts.append("old id: " + ", ".join(spec.aliases))
    console.print(escape("  ".join(facts)), soft_wrap=True)
    for heading, text in (("What it does", spec.what), ("Why is this bad?", spec.why), ("Example", spec.example),
                          ("Honest look-alike", spec.honest), ("Known problems", spec.known_problems),
                          ("Threshold and action" if spec.verdict is None else "Action", spec.action),
                          ("Fix", spec.fix)):
        if text:
            console.print(f"\n[bold]{heading}[/bold]")
            console.print(escape(text), highlight=False)


def render_listing(specs: list[rulebook.RuleSpec], console: Any) -> None:
    """The rule list: a table on wide terminals, one line per rule (id never cut) below 100 columns."""
    from rich.markup import escape
    from rich.table import Table

    if console.width < 100:
        for spec in specs:
            console.print(f"[bold]{spec.id}[/bold] {spec.part:<11} {(spec.verdict.value if spec.verdict else '-'):<8}"
                          f" {escape(spec.title)}", soft_wrap=True, highlight=False)
        return
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("part", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("title", overflow="fold")
    table.add_column("old id", no_wrap=True)
    for spec in specs:
        table.add_row(spec.id, spec.part, spec.verdict.value if spec.verdict else "per finding", escape(spec.title),
                      ", ".join(spec.aliases))
    console.print(table)


def generated_doc_main(render: Callable[[], str], module: str, argv: list[str] | None = None) -> int:
    """`python -m MODULE [--check] [PATH]` for a generated page: print it, write it, or fail when PATH is stale."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    text = render()
    if not paths:
        sys.stdout.write(text)
        return 0
    path = Path(paths[0])
    if check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            sys.stderr.write(f"{path} is out of date; regenerate: python -m {module} {path}\n")
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    return generated_doc_main(render_markdown, "referee.rulebook_docs", argv)

if __name__ == "__main__":
    raise SystemExit(main())
