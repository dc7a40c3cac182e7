"""Speed and detection of the static rules, measured against KernelGuard in the same run.

    python -m referee.submissions.rules.bench [--reps 20] [--wall] [--corpus DIR ...]

Prints two tables: per-file static-analysis time (median over `--reps` runs after a warm-up) for a generated
1,000-line file and for every bundled example submission, next to `kernelguard.analyze_code` on the same text,
with the ratio; and, per corpus (the bundled examples plus any `--corpus` folder with `honest/` and `cheats/`
sub-folders), how many honest files each tool passes and how many cheats each one catches. Timing belongs here,
not in unit tests (house rule); KernelGuard is optional and its columns say `n/a` when it is not installed.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from referee.report import Verdict
from referee.submissions.rules import all_rules, run_static, verdict_of


def synthetic_file(lines: int = 1000) -> str:
    """A dense 1,000-line submission: every rule's cheat and honest example (renamed) plus plain helpers."""
    parts, index = [], 0
    for item in all_rules():
        for source in (item.example, item.use_instead):
            try:
                ast.parse(source)
            except SyntaxError:
                continue
            parts.append(source.replace("custom_kernel", f"kernel_{index}"))
            index += 1
    text = "\n\n".join(parts) + "\n\ndef custom_kernel(data):\n    return kernel_1(data)\n"
    helper = 0
    while text.count("\n") < lines:
        text += f"\ndef helper_{helper}(x, y):\n    z = x * {helper} + y\n    return z.sum()\n"
        helper += 1
    return text


SAMPLE_S = 0.02  # each timed sample repeats the call until it lasts about this long


def _median_ms(fn: Callable[[], object], reps: int, clock: Callable[[], float] = time.process_time) -> float:
    """Median milliseconds per call of `fn` after a warm-up; CPU time by default, so other load on a shared
    machine does not inflate the figure (wall time can be asked for with `--wall`). Each sample times a batch of
    calls lasting ~SAMPLE_S: reading a CPU clock costs up to milliseconds on some VMs (measured on the 2-core
    Firecracker development machine), as much as one small file's analysis, so one read per call would time
    the clock rather than the rules."""
    start = time.perf_counter()
    fn()
    batch = max(1, int(SAMPLE_S / max(time.perf_counter() - start, 1e-6)))
    times = []
    for _ in range(reps):
        start = clock()
        for _ in range(batch):
            fn()
        times.append((clock() - start) * 1000 / batch)
    return statistics.median(times)


def _kernelguard():
    try:
        import kernelguard
    except ImportError:
        return None
    return kernelguard


def _kg_filters(kernelguard, code: str) -> bool:
    return bool(kernelguard.analyze_code(code, compute_structural_hash=False).get("should_filter"))


def _corpora(extra: list[Path]) -> dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    """name -> (honest [(file, code)], cheats [(file, code)])."""
    out: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}
    try:
        from referee.submissions.corpus import bundled_examples

        examples = bundled_examples()
        out["bundled examples"] = (
            [(e.name, e.path.read_text(encoding="utf-8")) for e in examples if e.honest],
            [(e.name, e.path.read_text(encoding="utf-8")) for e in examples if not e.honest])
    except Exception as exc:  # the corpus belongs to another part; the benchmark still runs without it
        print(f"note: bundled examples unavailable ({type(exc).__name__}: {exc})")
    for folder in extra:
        out[str(folder)] = (_read(folder / "honest"), _read(folder / "cheats"))
    return out


def _read(folder: Path) -> list[tuple[str, str]]:
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.py"))]


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    body = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            for r in rows]
    return "\n".join([line, "-" * len(line), *body])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--corpus", type=Path, action="append", default=[])
    parser.add_argument("--wall", action="store_true", help="time with the wall clock instead of CPU time")
    args = parser.parse_args(argv)
    clock = time.perf_counter if args.wall else time.process_time
    kernelguard = _kernelguard()
    corpora = _corpora(args.corpus)

    files = [("synthetic 1,000-line file", synthetic_file())]
    for honest, cheats in corpora.values():
        files += honest + cheats
    rows, ours_total, kg_total, timed = [], 0.0, 0.0, []
    for name, code in files:
        ours = _median_ms(lambda code=code: run_static(code), args.reps, clock)
        kg = _median_ms(lambda code=code: kernelguard.analyze_code(code, compute_structural_hash=False),
                        args.reps, clock) if kernelguard else None
        timed.append((ours, kg))
        ours_total += ours
        kg_total += kg or 0.0
        rows.append([name[:40], str(code.count("\n") + 1), f"{ours:.2f}", f"{kg:.2f}" if kg else "n/a",
                     f"{kg / ours:.1f}x" if kg else "n/a"])
    with open("/proc/loadavg", encoding="ascii") as handle:  # Linux; the figures are only comparable in one run
        load = handle.read().split()[:3]
    print(f"Static analysis time per file (median of {args.reps} samples, {'wall' if args.wall else 'CPU'} ms; "
          f"load average {' '.join(load)})")
    if len(timed) > 1:  # the example files, the synthetic one left out
        kg_median = f", kernelguard {statistics.median(r[1] for r in timed[1:]):.3f} ms" if kernelguard else ""
        print(f"static median per example file: referee {statistics.median(r[0] for r in timed[1:]):.3f} ms"
              f"{kg_median}")
    print(_table(["file", "lines", "referee", "kernelguard", "kg/referee"], rows))
    if kernelguard:
        print(f"total: referee {ours_total:.1f} ms, kernelguard {kg_total:.1f} ms "
              f"({kg_total / ours_total:.1f}x)\n")

    rows = []
    for corpus, (honest, cheats) in corpora.items():
        verdicts = [verdict_of(run_static(code)) for _, code in honest]
        caught = [verdict_of(run_static(code)) for _, code in cheats]
        row = [corpus[-40:], f"{len(honest)}/{len(cheats)}",
               f"{sum(v is Verdict.PASS for v in verdicts)}", f"{sum(v is Verdict.FAIL for v in verdicts)}",
               f"{sum(v is not Verdict.PASS for v in caught)}", f"{sum(v is Verdict.FAIL for v in caught)}"]
        if kernelguard:
            row += [f"{sum(not _kg_filters(kernelguard, c) for _, c in honest)}",
                    f"{sum(_kg_filters(kernelguard, c) for _, c in cheats)}"]
        else:
            row += ["n/a", "n/a"]
        rows.append(row)
    print("Detection (honest: files with no finding / with a FAIL; cheats: flagged or failed / failed)")
    print(_table(["corpus", "honest/cheats", "honest clean", "honest FAIL", "cheats flagged", "cheats FAIL",
                  "kg honest pass", "kg cheats filtered"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
