"""kernelbot: register its leaderboards' tasks with the audit service, and the one call its backend makes.

kernelbot (gpu-mode/kernelbot 4bdd839) creates leaderboards from a reference-kernels competition file
(`problems/pmpp_v2.yaml`: `problems: [{name, directory, deadline, gpus}]`, `libkernelbot/problem_sync.py`); each
`directory` is a task folder (`task.yml` + the files it names). A submission names its leaderboard, so referee
registers one task per leaderboard under the leaderboard's name, and kernelbot submits with `task=req.leaderboard`:

    referee kernelbot-tasks ~/reference-kernels/problems --competition pmpp_v2.yaml --url http://referee:8000

After a submission completes (`KernelBackend.submit_full`, where the proof of concept put its fire-and-forget
task) the backend calls `AuditClient.submit(...)`; see docs/integrations.md and examples/kernelbot/ for the patch.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class CompetitionError(ValueError):
    """The competition file or a task folder cannot be used; says which and why."""


@dataclass(frozen=True)
class LeaderboardTask:
    """One leaderboard of a competition: its name (the referee task name) and its task folder."""

    name: str
    folder: Path


def competition_tasks(problems_dir: str | os.PathLike[str], competition: str | os.PathLike[str] | None = None
                      ) -> list[LeaderboardTask]:
    """The leaderboards of a competition file (relative to `problems_dir`), or every task folder under it."""
    root = Path(problems_dir)
    if competition is None:
        return [LeaderboardTask(yml.parent.name, yml.parent) for yml in sorted(root.rglob("task.yml"))]
    path = Path(competition)
    path = path if path.is_absolute() or path.exists() else root / path
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CompetitionError(f"{path}: {exc}") from None
    problems = data.get("problems") if isinstance(data, dict) else None
    if not isinstance(problems, list):
        raise CompetitionError(f"{path}: no `problems:` list")
    out = []
    for index, entry in enumerate(problems):
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("directory"):
            raise CompetitionError(f"{path}: problem {index} needs `name` and `directory`")
        out.append(LeaderboardTask(str(entry["name"]), root / str(entry["directory"])))
    return out


def task_files(folder: Path) -> dict[str, str]:
    """What POST /admin/tasks takes: task.yml plus every file it names (read the way `load_task` reads them)."""
    from referee.submissions.task import TaskError, load_task

    try:
        task = load_task(folder)
        return {"task.yml": (folder / "task.yml").read_text(encoding="utf-8"), **task.files}
    except (TaskError, OSError, UnicodeDecodeError) as exc:
        raise CompetitionError(f"{folder}: {exc}") from None


def register_tasks(tasks: Iterable[LeaderboardTask], url: str, admin_token: str, *, client: Any = None,
                   dry_run: bool = False) -> list[dict[str, Any]]:
    """Register (or update) each task; one result per task, never stopping at the first bad one."""
    import httpx

    http = client or httpx.Client(base_url=url.rstrip("/"), timeout=30,
                                  headers={"Authorization": f"Bearer {admin_token}"})
    results = []
    try:
        for task in tasks:
            try:
                files = task_files(task.folder)
            except CompetitionError as exc:
                results.append({"name": task.name, "outcome": "error", "detail": str(exc)})
                continue
            if dry_run:
                results.append({"name": task.name, "outcome": "ready", "files": sorted(files)})
                continue
            try:
                response = http.post("/admin/tasks", json={"name": task.name, "files": files})
            except httpx.HTTPError as exc:
                results.append({"name": task.name, "outcome": "error", "detail": f"{type(exc).__name__}: {exc}"})
                continue
            body = _json(response)
            if response.status_code in (200, 201):
                version = (body.get("task") or {}).get("version")
                results.append({"name": task.name, "outcome": body.get("outcome", "ok"), "version": version})
            else:
                results.append({"name": task.name, "outcome": "error",
                                "detail": f"HTTP {response.status_code}: {body.get('detail', response.text[:300])}"})
    finally:
        if client is None:
            http.close()
    return results


def _json(response: Any) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
