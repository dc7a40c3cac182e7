"""The bundled example corpus: honest and cheating submissions for the example tasks, with expected verdicts.

Each task folder under `examples/` has a `submissions/` folder and an `expected.yml` manifest naming, per file, the
cheat family, the overall verdict an audit must reach, the dynamic rules that must fire, and optionally the static
rules that must fire (`static`) or are known to over-flag that file (`static_known_fp`). Tests, the speed
benchmark and the demo all read the corpus through `bundled_examples()`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import yaml

from referee.report import Verdict
from referee.submissions.task import bundled_task_names, bundled_tasks_dir


@dataclass(frozen=True)
class Example:
    """One bundled submission and what an audit of it must conclude."""

    task: str
    path: Path
    family: str
    verdict: Verdict
    dynamic_rules: tuple[str, ...]
    static_rules: tuple[str, ...]
    #: static rules known to over-flag this file (reported to the rule owners); ignored when checking the verdict
    static_known_fp: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def honest(self) -> bool:
        return self.family == "honest"

    @property
    def summary(self) -> str:
        """First line of the submission's docstring."""
        try:
            doc = ast.get_docstring(ast.parse(self.path.read_text(encoding="utf-8"))) or ""
        except SyntaxError:
            return ""
        return doc.splitlines()[0] if doc else ""

    def code(self) -> str:
        return self.path.read_text(encoding="utf-8")


def bundled_examples(task: str | None = None) -> list[Example]:
    """Every example submission (of one task, or of all bundled tasks), in a stable order."""
    examples: list[Example] = []
    for name in [task] if task else bundled_task_names():
        folder = bundled_tasks_dir() / name / "submissions"
        manifest = yaml.safe_load((folder / "expected.yml").read_text(encoding="utf-8")) or {}
        for file_name, entry in sorted(manifest.items()):
            examples.append(Example(task=name, path=folder / file_name, family=str(entry["family"]),
                                    verdict=Verdict(entry["verdict"]),
                                    dynamic_rules=tuple(entry.get("dynamic") or ()),
                                    static_rules=tuple(entry.get("static") or ()),
                                    static_known_fp=tuple(entry.get("static_known_fp") or ())))
    return examples
