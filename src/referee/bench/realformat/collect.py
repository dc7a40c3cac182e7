"""Re-derive the SGLang ServerArgs field sets in `data/` from the released wheels (manifest below).

The third-party files are not kept in the repository; this script fetches each wheel with pip (the ordinary
client), checks its sha256 against the manifest, reads `ServerArgs` with `ast` (nothing is imported or run) and
writes (or, with `--check`, compares) `data/sglang_server_args_<release>.json`.

    python -m referee.bench.realformat.collect [--check]
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from referee.bench.realformat.producers import DATA

#: release -> (wheel file, sha256, files holding the ServerArgs fields)
MANIFEST: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "v0.4.6.post5": ("sglang-0.4.6.post5-py3-none-any.whl",
                     "2a48053bd975e09ff10eabf1ef8bab4c913f3c3e16a3e45c13be1b4543cfeaed",
                     ("sglang/srt/server_args.py",)),
    "v0.5.2": ("sglang-0.5.2-py3-none-any.whl",
               "83aae146f3913ed0802bb1ea356facff47efe0e7d18041a3f143de9ef6e44b2c",
               ("sglang/srt/server_args.py",)),
    "v0.5.23": ("sglang-0.5.23-cp311-cp311-manylinux_2_34_x86_64.whl",
                "00b3cd5b265ac76c64185fbb6b95424f324ddd9f428d0306b77bc9db9d859937",
                ("sglang/srt/arg_groups/fields/*.py", "sglang/srt/server_args.py")),
}


def _default(node: ast.expr | None) -> Any:
    if node is None:
        return "<required>"
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        src = ast.unparse(node)
        return [] if "list" in src else {} if "dict" in src else "<expr>"


def fields_of(sources: list[str]) -> dict[str, Any]:
    """Annotated class fields (name -> literal default) of every class in the sources, first one wins."""
    out: dict[str, Any] = {}
    for text in sources:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.name != "PortArgs":
                for st in node.body:
                    if (isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name)
                            and not st.target.id.startswith("_")):
                        out.setdefault(st.target.id, _default(st.value))
    return out


def collect(release: str, workdir: Path) -> dict[str, Any]:
    wheel, sha, patterns = MANIFEST[release]
    version = wheel.split("-")[1]
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                    f"sglang=={version}", "-d", str(workdir), "-q"], check=True)
    path = workdir / wheel
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha:
        raise SystemExit(f"{wheel}: sha256 {digest} does not match the manifest {sha}")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        texts = []
        for pattern in patterns:
            picked = [n for n in sorted(names) if Path(n).match(pattern)]
            texts += [archive.read(n).decode() for n in picked]
    source = f"PyPI {wheel} (sha256 {sha})"
    return {"release": release, "source": source, "files": " + ".join(reversed(patterns)),
            "note": "ServerArgs dataclass field names with their literal defaults; <required>/<expr> where the "
                    "default is not a literal", "fields": fields_of(texts)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with data/ instead of writing it")
    args = parser.parse_args(argv)
    bad = 0
    with tempfile.TemporaryDirectory(prefix="sglang_wheels_") as tmp:
        for release in MANIFEST:
            data = collect(release, Path(tmp))
            target = DATA / f"sglang_server_args_{release}.json"
            if args.check:
                same = json.loads(target.read_text())["fields"] == json.loads(json.dumps(data["fields"], default=str))
                print(f"{release}: {len(data['fields'])} fields, {'matches' if same else 'DIFFERS from'} {target.name}")
                bad += not same
            else:
                target.write_text(json.dumps(data, indent=0, default=str))
                print(f"{release}: wrote {len(data['fields'])} fields to {target.name}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
