"""Kernel-leaderboard tasks in the gpu-mode reference-kernels layout.

A task folder holds `task.yml` (which files make up a run, the test and benchmark argument lists, the ranking
rule) plus the files it names: `reference.py` (`generate_input`, `ref_kernel`, `check_implementation`), `task.py`
(type aliases), usually a shared `../utils.py`. referee reads that layout unchanged so an operator can point it at
a checkout of their problem set. An optional `referee:` block in `task.yml` (ignored by the leaderboard) tunes the
audit for one task: tolerances of the trusted comparison, which device it needs, whether sizes may be perturbed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SUBMISSION_PLACEHOLDER = "@SUBMISSION@"
MAX_TASK_FILE_BYTES = 2 << 20
REQUIRED_FUNCTIONS = ("generate_input", "ref_kernel", "check_implementation")
#: a task whose reference has a checker but no ref_kernel (kernelbot's examples/gather) is judged by the checker
CHECKER_FUNCTIONS = ("generate_input", "check_implementation")
_CUDA_HINT = re.compile(r"""device\s*=\s*["']cuda|\.cuda\(\)|["']cuda(:\d+)?["']|f["']cuda:\{""")
_RANK_PARAM = re.compile(r"def\s+generate_input\s*\([^)]*\brank\b", re.S)
MAX_LIST_ARG = 64


class TaskError(ValueError):
    """The task folder or its files cannot be used: says which file and why."""


@dataclass(frozen=True)
class AuditSettings:
    """Per-task audit knobs (the optional `referee:` block of task.yml)."""

    #: "cpu", "cuda" or "auto" (decided from reference.py: does it allocate on CUDA?)
    device: str = "auto"
    #: trusted backstop: relative L2 error against the reference above which an output is wrong
    max_rel_error: float = 1e-2
    #: relative L2 error above which a passing output is flagged as a precision downgrade (None: off)
    precision_rel_error: float | None = 1e-4
    #: "elementwise" compares against ref_kernel in the trusted handler; "checker" trusts only the task's checker
    #: (property-based checks such as eigenvectors, where elementwise comparison is meaningless)
    compare: str = "elementwise"
    #: probe sizes outside the published lists (halved or nudged integer arguments)
    perturb: bool = True
    #: integer arguments that are sizes; None = every integer argument except `seed`
    size_args: tuple[str, ...] | None = None
    #: the task hands an output buffer inside `data`, so writing into the inputs is allowed
    inputs_writable: bool = False
    #: returning (a view of) an input is the expected answer (identity-like tasks)
    output_may_alias_input: bool = False
    #: probe inputs of the published shapes whose values defeat approximations (outliers, shifted ranges)
    adversarial: bool = True
    #: at most this many published test cases are probed
    max_test_cases: int = 6

    @classmethod
    def from_yaml(cls, raw: Any) -> AuditSettings:
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise TaskError("task.yml: `referee:` must be a mapping")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise TaskError(f"task.yml: unknown `referee:` keys {unknown}; known: {sorted(known)}")
        values = dict(raw)
        if values.get("size_args") is not None:
            values["size_args"] = tuple(str(a) for a in values["size_args"])
        if values.get("device", "auto") not in {"auto", "cpu", "cuda"}:
            raise TaskError("task.yml: referee.device must be auto, cpu or cuda")
        if values.get("compare", "elementwise") not in {"elementwise", "checker"}:
            raise TaskError("task.yml: referee.compare must be elementwise or checker")
        try:
            return cls(**values)
        except TypeError as exc:
            raise TaskError(f"task.yml: bad `referee:` block: {exc}") from exc


@dataclass(frozen=True)
class Task:
    """One leaderboard problem: the files a run needs and the argument lists its harness uses."""

    name: str
    files: dict[str, str]
    tests: list[dict[str, Any]] = field(default_factory=list)
    benchmarks: list[dict[str, Any]] = field(default_factory=list)
    lang: str = "py"
    description: str = ""
    ranking_by: str = "geom"
    submission_name: str = "submission.py"
    settings: AuditSettings = field(default_factory=AuditSettings)
    path: Path | None = None
    warnings: tuple[str, ...] = ()
    multi_gpu: bool = False

    @property
    def reference(self) -> str:
        return self.files.get("reference.py", "")

    def defines(self, name: str) -> bool:
        return bool(re.search(rf"^\s*(?:async\s+)?def\s+{name}\b|^{name}\s*=", self.reference, re.M))

    @property
    def has_reference_kernel(self) -> bool:
        return self.defines("ref_kernel")

    @property
    def world_size(self) -> int:
        """Ranks one run needs: the largest `world_size` argument, or 1 (`generate_input(..., rank)` tasks)."""
        sizes = [int(s["world_size"]) for s in [*self.tests, *self.benchmarks]
                 if isinstance(s.get("world_size"), int) and not isinstance(s.get("world_size"), bool)]
        return max(sizes, default=1)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1 or bool(_RANK_PARAM.search(self.reference)) or bool(self.multi_gpu)

    @property
    def probe_blocker(self) -> str | None:
        """Why the dynamic probes cannot run this task's layout at all (None: they can)."""
        missing = [fn for fn in CHECKER_FUNCTIONS if not self.defines(fn)]
        if missing:
            return (f"the task's reference.py does not define {', '.join(missing)} (not the reference-kernels "
                    "generate_input/ref_kernel/check_implementation layout)")
        if not self.tests and not self.benchmarks:
            return "task.yml lists no tests and no benchmarks, so no input can be generated"
        return None

    @property
    def needs_cuda(self) -> bool:
        """True when the reference allocates on a GPU (then CPU-only machines cannot run the probes)."""
        if self.settings.device != "auto":
            return self.settings.device == "cuda"
        return bool(_CUDA_HINT.search(_strip_comments(self.reference)))

    def context_files(self) -> dict[str, str]:
        """Files shown to a reviewer (the LLM) as task context: everything except the harness plumbing."""
        return {name: text for name, text in self.files.items() if name.endswith(".py") and name != "eval.py"}


def _strip_comments(source: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in source.splitlines())


def _check_specs(specs: Any, key: str) -> list[dict[str, Any]]:
    if specs is None:
        return []
    if not isinstance(specs, list):
        raise TaskError(f"task.yml: `{key}` must be a list of argument mappings")
    clean = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict) or not spec:
            raise TaskError(f"task.yml: {key}[{i}] must be a non-empty mapping of arguments")
        for arg, value in spec.items():
            if not isinstance(arg, str) or not arg.isidentifier():
                raise TaskError(f"task.yml: {key}[{i}] has an argument name that is not an identifier: {arg!r}")
            if _scalar(value):
                continue
            if not (isinstance(value, list) and 0 < len(value) <= MAX_LIST_ARG and all(map(_scalar, value))):
                raise TaskError(f"task.yml: {key}[{i}].{arg} must be a number, string, boolean or a short list "
                                "of them")
        clean.append(dict(spec))
    return clean


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _parse_yaml(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaskError(f"task.yml is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise TaskError("task.yml must be a mapping at the top level")
    return data


def _build(name: str, spec: dict[str, Any], files: dict[str, str], path: Path | None,
           warnings: list[str]) -> Task:
    if "reference.py" not in files:
        raise TaskError(f"task {name!r}: reference.py is missing")
    tests = _check_specs(spec.get("tests"), "tests")
    benchmarks = _check_specs(spec.get("benchmarks"), "benchmarks")
    lang = str(spec.get("lang", "py"))
    submission_name = "submission.py" if lang == "py" else "submission.cu"
    for entry in spec.get("files") or []:
        if isinstance(entry, dict) and entry.get("source") == SUBMISSION_PLACEHOLDER and entry.get("name"):
            submission_name = str(entry["name"])
    return Task(name=name, files=files, tests=tests, benchmarks=benchmarks, lang=lang,
                description=str(spec.get("description") or ""), ranking_by=str(spec.get("ranking_by", "geom")),
                submission_name=submission_name, settings=AuditSettings.from_yaml(spec.get("referee")), path=path,
                warnings=tuple(warnings), multi_gpu=bool(spec.get("multi_gpu")))


def _file_entries(spec: dict[str, Any]) -> list[tuple[str, str]]:
    entries = spec.get("files")
    if entries is None:
        return [("reference.py", "reference.py"), ("task.py", "task.py"), ("utils.py", "utils.py")]
    if not isinstance(entries, list):
        raise TaskError("task.yml: `files` must be a list of {name, source}")
    pairs = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise TaskError(f"task.yml: files[{i}] must be a mapping with `name` and `source`")
        name = entry["name"]
        if "/" in name or "\\" in name or name in {"", ".", ".."}:
            raise TaskError(f"task.yml: files[{i}].name must be a plain file name, got {name!r}")
        source = entry.get("source", name)
        if source == SUBMISSION_PLACEHOLDER:
            continue
        pairs.append((name, str(source)))
    return pairs


def load_task(path: str | os.PathLike[str]) -> Task:
    """Read a task folder (task.yml + the files it lists, sources relative to the folder)."""
    folder = Path(path)
    yml = folder / "task.yml"
    if not folder.is_dir():
        raise TaskError(f"{folder}: not a folder")
    if not yml.is_file():
        raise TaskError(f"{folder}: no task.yml")
    spec = _parse_yaml(_read(yml))
    files: dict[str, str] = {}
    warnings: list[str] = []
    for name, source in _file_entries(spec):
        target = (folder / source)
        if not target.is_file():
            if name == "reference.py":
                raise TaskError(f"{folder}: task.yml names {source} for reference.py, which does not exist")
            warnings.append(f"{name}: source {source} not found; left out")
            continue
        files[name] = _read(target)
    return _build(folder.name, spec, files, folder.resolve(), warnings)


def task_from_files(name: str, files: dict[str, str], *, strict: bool = True) -> Task:
    """Build a task from file contents (the service stores tasks this way): `task.yml` plus the named files.

    `strict` (the default, for task registration) refuses a layout the probes cannot run; `load_task` of a folder
    accepts it, so such a task's submissions still get their static audit and a DEGRADED reason.

    Files are matched by the name the run uses (`utils.py`), or by the source path task.yml gives (`../utils.py`).
    """
    if "task.yml" not in files:
        raise TaskError(f"task {name!r}: task.yml is missing")
    spec = _parse_yaml(files["task.yml"])
    found: dict[str, str] = {}
    warnings: list[str] = []
    for run_name, source in _file_entries(spec):
        for key in (run_name, source, os.path.basename(source)):
            if key in files:
                found[run_name] = files[key]
                break
        else:
            if run_name == "reference.py":
                raise TaskError(f"task {name!r}: reference.py is missing")
            warnings.append(f"{run_name}: not provided; left out")
    task = _build(name, spec, found, None, warnings)
    if strict and task.probe_blocker is not None:
        raise TaskError(f"task {name!r}: {task.probe_blocker}")
    return task


def _read(path: Path) -> str:
    if path.stat().st_size > MAX_TASK_FILE_BYTES:
        raise TaskError(f"{path}: larger than {MAX_TASK_FILE_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TaskError(f"{path}: not UTF-8 text") from exc


def bundled_tasks_dir() -> Path:
    """Folder of the example tasks shipped with referee (CPU-runnable, with honest and cheating submissions)."""
    return Path(__file__).resolve().parent / "examples"


def bundled_task_names() -> list[str]:
    root = bundled_tasks_dir()
    return sorted(p.name for p in root.iterdir() if (p / "task.yml").is_file())


def resolve_task(spec: str | os.PathLike[str]) -> Task:
    """A task folder path, or the name of a bundled task (`vectoradd_py`)."""
    path = Path(spec)
    if path.is_dir():
        return load_task(path)
    if str(spec) in bundled_task_names():
        return load_task(bundled_tasks_dir() / str(spec))
    raise TaskError(f"{spec}: neither a task folder nor a bundled task ({', '.join(bundled_task_names())})")
