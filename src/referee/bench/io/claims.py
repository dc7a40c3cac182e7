"""Claim files: what the producer *says* (integrate_result.json, director_e2e_validation.json, opbench_result.json,
bench_summary.json, a profile top-N, parity outputs, a lever manifest). Read, never believed.

Each claim keeps its text so every number it reports can be cited as file:line next to the raw number it is
checked against. Field names vary between GEAK's flat and nested layouts, so every claimed field is looked up
through a list of paths; the path that answered is kept for the evidence.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from referee.bench.io.files import is_regular
from referee.report import Evidence

MAX_CLAIM_BYTES = 64 << 20

KINDS = ("integrate", "director_validation", "director_setup", "opbench", "bench_summary", "profile", "parity",
         "lever_manifest", "served_shapes")

NAME_HINTS = (("integrate_result", "integrate"), ("director_e2e_validation", "director_validation"),
              ("director_setup", "director_setup"), ("opbench", "opbench"), ("bench_summary", "bench_summary"),
              ("profile", "profile"), ("parity", "parity"), ("lever_manifest", "lever_manifest"),
              ("served_shapes", "served_shapes"))

CONTENT_HINTS = (
    ("director_validation", ("director_verified_throughput_tok_s", "validation_status", "throughput_speedup")),
    ("director_setup", ("baseline_spread_pct", "server_flags")),
    ("opbench", ("winner_backend", "baseline_backend", "harness_suspect")),
    ("integrate", ("winner_kind", "isolated_speedup", "e2e_delta_pct", "gate", "accepted_config")),
    ("bench_summary", ("throughput_tok_s_median", "all_throughput")),
    ("profile", ("entries", "top_n", "kernels", "top_kernels")),
    ("lever_manifest", ("lever_keys", "allowed_keys", "levers")),
    ("served_shapes", ("buckets", "served_shapes")),
    ("parity", ("outputs", "ref", "cand")),
)

#: claimed field -> paths it may live at, flat GEAK form first, nested second.
FIELDS: dict[str, tuple[str, ...]] = {
    "ref_median": ("ref_med", "e2e.ref_median_tok_s", "ref_median_tok_s", "baseline_throughput_tok_s"),
    "cand_median": ("cand_med", "e2e.cand_median_tok_s", "cand_median_tok_s", "e2e_throughput_tok_s",
                    "director_verified_throughput_tok_s"),
    "delta_pct": ("e2e_delta_pct", "e2e.delta_pct", "delta_pct"),
    "ref_max": ("ref_max", "e2e.ref_max_tok_s"),
    "cand_min": ("cand_min", "e2e.cand_min_tok_s"),
    "non_overlapping": ("non_overlapping", "e2e.non_overlapping"),
    "ttft_ref": ("ttft_ms_ref", "e2e.ttft_ms_ref"),
    "ttft_cand": ("ttft_ms_cand", "e2e.ttft_ms_cand"),
    "tpot_ref": ("tpot_ms_ref", "e2e.tpot_ms_ref"),
    "tpot_cand": ("tpot_ms_cand", "e2e.tpot_ms_cand"),
    "speedup": ("throughput_speedup", "speedup"),
    "claimed_throughput": ("claimed_throughput_tok_s",),
    "isolated_speedup": ("isolated_speedup", "isolated.speedup"),
    "pct_gpu_time": ("pct_gpu_time",),
    "parity": ("output_parity", "parity"),
    "parity_kind": ("parity_kind",),
    "gate": ("gate", "validation_status"),
    "winner_kind": ("winner_kind",),
    "apply_env": ("apply_env", "accepted_config.apply_env"),
    "apply_flags": ("apply_flags", "accepted_config.apply_flags"),
    "lever_class": ("lever_class",),
    "headline_metric": ("headline_metric", "metric_basis"),
    "short_name": ("short_name", "model_name"),
}


@dataclass
class ClaimFile:
    """One claim document, its text (for line lookups) and, if it could not be read, why."""

    kind: str
    path: Path
    data: Any = None
    text: str = ""
    error: str | None = None
    _starts: list[int] = field(default_factory=list, repr=False)

    def line_at(self, offset: int) -> int:
        if not self._starts:
            self._starts = [0] + [i + 1 for i, c in enumerate(self.text) if c == "\n"]
        return bisect_right(self._starts, offset)

    def line_of(self, path: str) -> int | None:
        """Line where the last key of a dotted path appears (searching after each parent key)."""
        position = 0
        for key in path.split("."):
            found = self.text.find(json.dumps(key), position)
            if found < 0:
                return None
            position = found
        return self.line_at(position)

    def raw(self, path: str) -> Any:
        node = self.data
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def lookup(self, name: str) -> tuple[Any, str | None]:
        """A claimed field by its canonical name: (value, the path it was found at)."""
        for path in FIELDS.get(name, (name,)):
            value = self.raw(path)
            if value is not None:
                return value, path
        return None, None

    def present(self, name: str) -> str | None:
        """First path of a claimed field that exists in the document, even with a null value."""
        for path in FIELDS.get(name, (name,)):
            node = self.data
            for key in path.split("."):
                if not isinstance(node, dict) or key not in node:
                    break
                node = node[key]
            else:
                return path
        return None

    def value(self, name: str) -> Any:
        return self.lookup(name)[0]

    def evidence(self, path: str | None, detail: str | None = None) -> Evidence:
        line = self.line_of(path) if path else None
        snippet = None
        if line is not None:
            lines = self.text.splitlines()
            snippet = lines[line - 1].strip()[:200] if line - 1 < len(lines) else None
        return Evidence(file=str(self.path), line=line, snippet=snippet, detail=detail)


def detect_kind(path: Path, data: Any) -> str:
    stem = path.name.lower()
    for hint, kind in NAME_HINTS:
        if hint in stem:
            return kind
    if isinstance(data, list):
        if data and all(isinstance(x, dict) and "output" in x for x in data[:50]):
            return "parity"
        if data and all(isinstance(x, dict) and ("name" in x or "kernel" in x) for x in data[:50]):
            return "profile"
        return "unknown"
    if isinstance(data, dict):
        for kind, keys in CONTENT_HINTS:
            if any(k in data for k in keys):
                return kind
    return "unknown"


def load_claim(spec: str | Path) -> ClaimFile:
    """Read one claim file. `KIND=PATH` forces the kind; otherwise it is guessed from the name, then content."""
    text_spec = str(spec)
    forced = None
    kind_part, eq, rest = text_spec.partition("=")
    if eq and kind_part in KINDS:
        forced, text_spec = kind_part, rest
    path = Path(text_spec)
    claim = ClaimFile(kind=forced or "unknown", path=path)
    if not is_regular(path):
        claim.error = f"cannot read claim {path}: missing or not a regular file"
        return claim
    try:
        size = path.stat().st_size
        if size > MAX_CLAIM_BYTES:
            claim.error = f"{path}: {size} bytes, larger than the {MAX_CLAIM_BYTES}-byte claim limit"
            return claim
        claim.text = path.read_bytes().decode("utf-8", "replace")
    except OSError as exc:
        claim.error = f"cannot read claim {path}: {exc.strerror or exc}"
        return claim
    try:
        claim.data = json.loads(claim.text)
    except (ValueError, RecursionError) as exc:
        claim.error = f"claim {path} is not valid JSON ({exc})"
        return claim
    if forced is None:
        claim.kind = detect_kind(path, claim.data)
    return claim


@dataclass
class Claims:
    """Every claim file given to (or found by) one audit."""

    files: list[ClaimFile] = field(default_factory=list)

    def of(self, kind: str) -> list[ClaimFile]:
        return [c for c in self.files if c.kind == kind and c.error is None]

    def first(self, kind: str) -> ClaimFile | None:
        found = self.of(kind)
        return found[0] if found else None

    def errors(self) -> list[ClaimFile]:
        return [c for c in self.files if c.error is not None]

    def add(self, claim: ClaimFile) -> None:
        if all(c.path.resolve() != claim.path.resolve() for c in self.files):
            self.files.append(claim)
