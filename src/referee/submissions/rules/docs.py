"""Render the rule registry as Markdown (docs/submission-rules.md), in the ruff rule-docs layout.

The registry is the single source: `python -m referee.submissions.rules.docs docs/submission-rules.md` rewrites
the page, `--check` exits 1 when the page is out of date (a test runs the same comparison).
"""

from __future__ import annotations

from referee.submissions.rules.registry import FAMILIES, Rule, all_rules

HEADER = """# Static rules for kernel submissions

<!-- Generated from the rule registry by `python -m referee.submissions.rules.docs docs/submission-rules.md`.
     Do not edit by hand: tests/submissions/rules/test_docs.py fails when this page is out of date. -->

`referee audit` runs these rules over a submission's source before (and independently of) any sandboxed run.
Aliases and light obfuscation are resolved first (`import torch as T`, `getattr(mod, "a" + "b")`,
`__import__`, `importlib`, `sys.modules[...]`), and Python hidden in encoded blobs (base64, hex, zlib, gzip,
bz2, lzma) or in strings handed to `exec`/`eval`/`compile` is scanned with the same rules.

- **FAIL** means the code itself is unambiguous evidence of cheating; **FLAG** means it needs a human look.
- Nothing written in the scanned code (comments such as `# noqa` or `# referee: ignore`, docstrings, strings
  claiming the code is honest) can switch a rule off.
- Code under a strict `if __name__ == "__main__":` guard is ignored: it cannot run when the harness imports the
  submission (the guard is not trusted if the file rebinds `__name__`).
- The *KernelGuard* column lists the equivalent KernelGuard pattern names, used for `--api-mode` output.
"""


def render_markdown(rules: list[Rule] | None = None) -> str:
    rules = rules if rules is not None else all_rules()
    out = [HEADER, "## Summary", "", "| Rule | Title | Verdict | Family | KernelGuard |", "|---|---|---|---|---|"]
    for item in rules:
        kg = ", ".join(f"`{k}`" for k in item.kernelguard) or "-"
        out.append(f"| [{item.id}](#{item.id.lower()}) | {item.title} | {item.verdict.value} | "
                   f"{item.family_title} | {kg} |")
    out.append("")
    family = None
    for item in rules:
        if item.family != family:
            family = item.family
            out += [f"## {FAMILIES[family]}", ""]
        out += _rule_section(item)
    return "\n".join(out).rstrip() + "\n"


def _rule_section(item: Rule) -> list[str]:
    kg = ", ".join(f"`{k}`" for k in item.kernelguard) or "none"
    lines = [
        f"### {item.id}", "",
        f"**{item.title}** · verdict **{item.verdict.value}** · KernelGuard: {kg}", "",
        "#### What it does", "", item.what, "",
        "#### Why is this bad?", "", item.why, "",
        "#### Example", "", "```python", item.example, "```", "",
        "Use instead:", "", "```python", item.use_instead, "```", "",
    ]
    if item.known_problems:
        lines += ["#### Known problems", "", item.known_problems, ""]
    lines += ["#### Action", "", item.action, ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    from referee.rulebook_docs import generated_doc_main

    return generated_doc_main(render_markdown, "referee.submissions.rules.docs", argv)

if __name__ == "__main__":
    raise SystemExit(main())
