"""Build and fetch referee's real-data regression set of public leaderboard submissions.

The repository keeps only the manifest (`benchmarks/data/real_submissions.manifest.jsonl`: repository, commit,
path, sha256, label, why), never the third-party files. Two commands:

    python scripts/collect_real_submissions.py collect [--dest DIR] [--mirror-root DIR]
        Fetch every manifest entry at its pinned commit (raw.githubusercontent.com, or `git show` from local
        mirrors `<root>/<owner>+<name>/repo` when given) into DIR/<sha256>.py, verifying each sha256.
    python scripts/collect_real_submissions.py build --mirror-root DIR
        (maintainers) Re-derive the manifest from local mirrors of the source repositories below.

Labels: `honest` (a real entry that computes its answer), `cheat:<family>` (a real file that games the harness,
named in LABELS with the reason), `recon` (a file an agent sent to the runner to look around: it shells out,
greps library sources, prints the environment; a leaderboard wants it reviewed, so FLAG is right and FAIL
is not), `risky` (a real entry that changes the runner's environment or the libraries the reference also
uses: installs packages, downloads code, rewrites library functions; FLAG is right, each named in LABELS with
the reason), `broken` (does not parse), `stub` (a template skeleton that computes nothing: not honest work, not
a cheat either; reported separately). A file counts as a submission only when it defines `custom_kernel` at
module level.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "benchmarks" / "data" / "real_submissions.manifest.jsonl"
DEFAULT_DEST = ROOT / "benchmarks" / "data" / "real_submissions"
SOURCES = [  # public repositories with leaderboard submissions (maintainers' and competitors')
    "gpu-mode/reference-kernels", "gpu-mode/kernelbot", "robobryce/gpumode", "AjAnubolu/gpumode",
    "goldbar123467/nvfp4_dual_gemm", "jIab-b/nvfp4_gemv-kernel", "teelaitila/nvfp4_gpumode",
    "THINNGO2511/AMD-GPU-MODE", "Snektron/gpumode-amd-fp8-mm", "davidberard98/gpumode-trimul",
]
SKIP_NAMES = {"reference.py", "task.py", "eval.py", "utils.py"}
# Real files that game the harness, each read by hand: (repository, path) -> (label, why).
LABELS = {
    ("gpu-mode/kernelbot", "examples/identity_py/cheat-input.py"):
        ("cheat:input-mutation", "zeroes the input so the reference computed afterwards matches"),
    ("gpu-mode/kernelbot", "examples/identity_py/cheat-rng.py"):
        ("cheat:hard-coding", "reproduces the generator's seed for the benchmark size"),
    **{("THINNGO2511/AMD-GPU-MODE", f"mixed-mla/{name}"): (
        "cheat:subsample", "attends over every 2nd KV token for kv=8192 (`kv[:, ::STRIDE]`), saying in its "
                           "docstring that i.i.d. Gaussian test data makes softmax ~uniform so the loose "
                           "tolerance still passes; issue 10's miss, FLAG by design (the tolerance decides)")
       for name in ("sub_kv_subsample.py", "sub_kv_subsample_pg1.py", "sub_kv_subsample_v2.py")},
    ("THINNGO2511/AMD-GPU-MODE", "mixed-mla/sub_subsample_diagnostic.py"): (
        "recon", "diagnostic: runs five KV-subsampling variants next to the full computation, prints their "
                 "errors, returns the full-KV answer"),
    **{("teelaitila/nvfp4_gpumode", f"group_gemm/{name}"): (
        "risky", "runs `pip install` (nvidia-cutlass-dsl, apache-tvm-ffi) at import: changes the runner's "
                 "environment; NAT004 FLAG is the verdict the issue asks for")
       for name in ("s.py", "submissionv2.py", "submissionv3.py")},
    ("THINNGO2511/AMD-GPU-MODE", "mixed-mla/sub_tilelang_mla.py"): (
        "risky", "pip-installs tilelang/flashinfer on the runner at run time (NAT004)"),
    ("THINNGO2511/AMD-GPU-MODE", "mixed-mla/sub_patch_mla_qseqlen4.py"): (
        "risky", "wgets aiter's mla.py from GitHub and copies it over the runner's installed "
                 "/home/runner/aiter/aiter/mla.py, then reloads it: code no reviewer saw, left for later runs"),
    ("THINNGO2511/AMD-GPU-MODE", "moe-mxfp4/sub_upgrade_aiter_moe.py"): (
        "risky", "wgets aiter sources/configs at run time and replaces `aiter.fused_moe.use_nt`, a function "
                 "the task's reference (aiter fused_moe) also calls"),
    **{("THINNGO2511/AMD-GPU-MODE", path): (
        "risky", "rewrites the source of aiter's fused_moe internals (inspect.getsource + str.replace) and "
                 "exec()s it into the module, or patches its globals/installed files; the task's reference "
                 "computes with the same aiter fused_moe, so the patch changes the expected answer too")
       for path in ("claude-research-files/moe_quant_threshold.py", "moe-mxfp4/sub_zhubenzhu_fix.py",
                    "moe-mxfp4/sub_zhubenzhu_v2.py", "moe-mxfp4/sub_zhubenzhu_v3.py",
                    "moe-mxfp4/submission_quant_tuned.py", "moe-mxfp4/submission_sepqsort_v3.py",
                    "moe-mxfp4/exp_d2048_quant_thresh.py")},
    ("THINNGO2511/AMD-GPU-MODE", "mixed-mla/sub_upgrade_aiter_mla.py"): (
        "recon", "wgets the latest aiter mla.py/mla_asm.csv and prints them next to the runner's installed "
                 "copies (looks around; patches nothing)"),
    ("THINNGO2511/AMD-GPU-MODE", "claude-research-files/read_ck_mfma_detail.py"): (
        "recon", "prints and greps composable_kernel headers installed on the runner"),
    ("THINNGO2511/AMD-GPU-MODE", "mxfp4-mm/gemm_hipblaslt_fp4.py"): (
        "recon", "greps the runner's /opt/rocm hipblaslt headers and prints `[PROBE]` lines"),
    ("THINNGO2511/AMD-GPU-MODE", "mxfp4-mm/gemm_hipblaslt_fp4_v2.py"): (
        "recon", "greps the runner's /opt/rocm hipblaslt headers and prints `[PROBE]` lines"),
    ("THINNGO2511/AMD-GPU-MODE", "mxfp4-mm/submission_disasm_v2.py"): (
        "recon", "globs for llvm-objdump on the runner and disassembles aiter's installed .co kernels"),
    ("THINNGO2511/AMD-GPU-MODE", "mxfp4-mm/submission_mfma_v1.py"): (
        "recon", "on a failed hipcc build, `find`/`grep`s the runner's /opt/rocm/include for headers"),
}
# The task a competitor's folder belongs to (reference-kernels problem directory), where the repository says so.
TASK_BY_PREFIX = {
    ("goldbar123467/nvfp4_dual_gemm", "archive/nvfp4_group_gemm/"): "nvidia/nvfp4_group_gemm",
    ("goldbar123467/nvfp4_dual_gemm", ""): "nvidia/nvfp4_dual_gemm",
    ("teelaitila/nvfp4_gpumode", "dual_gemm/"): "nvidia/nvfp4_dual_gemm",
    ("teelaitila/nvfp4_gpumode", "group_gemm/"): "nvidia/nvfp4_group_gemm",
    ("teelaitila/nvfp4_gpumode", "fp4_gemm/"): "nvidia/nvfp4_gemm",
    ("THINNGO2511/AMD-GPU-MODE", "mxfp4-mm/"): "amd_202602/mxfp4-mm",
    ("THINNGO2511/AMD-GPU-MODE", "moe-mxfp4/"): "amd_202602/moe-mxfp4",
    ("THINNGO2511/AMD-GPU-MODE", "mixed-mla/"): "amd_202602/mixed-mla",
    ("Snektron/gpumode-amd-fp8-mm", ""): "amd/fp8-mm",
    ("davidberard98/gpumode-trimul", ""): "bioml/trimul",
    ("AjAnubolu/gpumode", "pmpp_v2/"): "pmpp_v2",
    ("AjAnubolu/gpumode", "pmpp/"): "pmpp",
}
REFERENCE_REPO = "gpu-mode/reference-kernels"
WRONG_SOLUTIONS = {  # reference-kernels' own wrong solutions, by file name
    "empty.py": ("cheat:uninitialised", "returns torch.empty: stale memory may hold the reference's answer"),
    "low-precision.py": ("cheat:precision", "computes in reduced precision to pass a loose tolerance"),
}
RECON_MARKERS = ("subprocess", "os.system", "os.popen", "os.listdir", "glob.glob", "os.walk", "inspect.getsource")


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


def defines_entry(text: str) -> bool:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return "\ndef custom_kernel" in text  # keep unparsable entries: the auditor must handle them
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == "custom_kernel"
               for n in tree.body)


def is_stub(text: str) -> bool:
    """An entry whose body only unpacks `data` and returns a member (the templates' "Your implementation here")."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "custom_kernel":
            body = [n for n in node.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
            if not body or not isinstance(body[-1], ast.Return) or not isinstance(body[-1].value, ast.Name):
                return False
            unpacked: list[str] = []
            for item in body[:-1]:
                if isinstance(item, ast.Pass):
                    continue
                if not (isinstance(item, ast.Assign) and isinstance(item.value, ast.Name)
                        and isinstance(item.targets[0], ast.Tuple)):
                    return False
                unpacked = [e.id for e in item.targets[0].elts if isinstance(e, ast.Name)]
            name = body[-1].value.id
            return name in unpacked and unpacked.index(name) > 0  # the output slot, not the identity's input
    return False


def label_for(repo: str, path: str, text: str) -> tuple[str, str]:
    if (repo, path) in LABELS:
        return LABELS[(repo, path)]
    if not _parses(text):
        return "broken", "does not parse: the harness cannot import it (SYN001 FLAG, the dynamic audit FAILs it " \
                         "as broken, not as cheating)"
    if is_stub(text) and "/solutions/" not in path:
        return "stub", "template skeleton: unpacks data and returns the output slot untouched (computes nothing)"
    name = path.rsplit("/", 1)[-1]
    if "/solutions/wrong/" in path and name in WRONG_SOLUTIONS:
        return WRONG_SOLUTIONS[name]
    lowered = path.lower()
    if ("probe" in lowered or "debug" in lowered or "sweep" in lowered) and any(m in text for m in RECON_MARKERS):
        return "recon", "agent probe of the runner (shells out or lists files); review, not cheating"
    return "honest", "public leaderboard entry, template or solution"


def task_of(repo: str, path: str) -> str | None:
    """The reference-kernels task directory (`pmpp_v2/matmul_py`) of a file, when its location says so."""
    parts = path.split("/")
    if repo in (REFERENCE_REPO, "robobryce/gpumode") and parts[0] == "problems" and len(parts) > 3:
        return "/".join(parts[1:3])
    for (owner, prefix), task in TASK_BY_PREFIX.items():
        if repo == owner and path.startswith(prefix):
            if task in ("pmpp", "pmpp_v2"):
                return f"{task}/{parts[1]}" if len(parts) > 2 else None
            return task
    return None


def _git(mirror: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(mirror), *args], capture_output=True, check=True).stdout


def build(mirror_root: Path, out: Path) -> int:
    rows, seen = [], set()
    for repo in SOURCES:
        mirror = mirror_root / repo.replace("/", "+") / "repo"
        if not mirror.exists():
            print(f"skip {repo}: no mirror at {mirror}", file=sys.stderr)
            continue
        commit = _git(mirror, "rev-parse", "HEAD").decode().strip()
        listing = _git(mirror, "grep", "-z", "-l", "def custom_kernel", "HEAD", "--", "*.py").decode()
        for item in filter(None, listing.split("\0")):
            path = item.split(":", 1)[1]
            if path.rsplit("/", 1)[-1] in SKIP_NAMES:
                continue
            blob = _git(mirror, "show", f"{commit}:{path}")
            digest = hashlib.sha256(blob).hexdigest()
            text = blob.decode("utf-8", "replace")
            if digest in seen or not defines_entry(text):
                continue
            seen.add(digest)
            label, why = label_for(repo, path, text)
            rows.append({"repository": repo, "commit": commit, "path": path, "sha256": digest, "bytes": len(blob),
                         "label": label, "why": why, "task": task_of(repo, path)})
    rows += _task_references(mirror_root, {r["task"] for r in rows if r["task"]})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    print(f"{len(rows)} files -> {out}")
    return 0


def _task_references(mirror_root: Path, tasks: set[str]) -> list[dict]:
    """The tasks' own reference.py files (label `task-reference`): the benchmark reads each task's output
    contract from them, as an operator's audit with the task does."""
    mirror = mirror_root / REFERENCE_REPO.replace("/", "+") / "repo"
    commit = _git(mirror, "rev-parse", "HEAD").decode().strip()
    out = []
    for task in sorted(tasks):
        path = f"problems/{task}/reference.py"
        try:
            blob = _git(mirror, "show", f"{commit}:{path}")
        except subprocess.CalledProcessError:
            continue
        out.append({"repository": REFERENCE_REPO, "commit": commit, "path": path,
                    "sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob), "label": "task-reference",
                    "why": "the task's reference, read for its output contract", "task": task})
    return out


def load_manifest(path: Path = MANIFEST) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _fetch(row: dict, mirror_root: Path | None) -> bytes:
    if mirror_root is not None:
        mirror = mirror_root / row["repository"].replace("/", "+") / "repo"
        return _git(mirror, "show", f"{row['commit']}:{row['path']}")
    import httpx

    url = f"https://raw.githubusercontent.com/{row['repository']}/{row['commit']}/{row['path']}"
    response = httpx.get(url, timeout=30, follow_redirects=True)
    response.raise_for_status()
    return response.content


def collect(manifest: Path, dest: Path, mirror_root: Path | None) -> int:
    dest.mkdir(parents=True, exist_ok=True)
    bad = 0
    for row in load_manifest(manifest):
        target = dest / f"{row['sha256']}.py"
        if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == row["sha256"]:
            continue
        try:
            blob = _fetch(row, mirror_root)
        except Exception as exc:  # one missing file must not stop the rest
            print(f"cannot fetch {row['repository']}:{row['path']}: {exc}", file=sys.stderr)
            bad += 1
            continue
        if hashlib.sha256(blob).hexdigest() != row["sha256"]:
            print(f"sha256 mismatch for {row['repository']}:{row['path']}", file=sys.stderr)
            bad += 1
            continue
        target.write_bytes(blob)
    print(f"collected into {dest}; {bad} failed")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--mirror-root", type=Path, required=True)
    b.add_argument("--out", type=Path, default=MANIFEST)
    c = sub.add_parser("collect")
    c.add_argument("--manifest", type=Path, default=MANIFEST)
    c.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    c.add_argument("--mirror-root", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "build":
        return build(args.mirror_root, args.out)
    return collect(args.manifest, args.dest, args.mirror_root)


if __name__ == "__main__":
    sys.exit(main())
