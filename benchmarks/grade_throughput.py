"""Grading throughput: referee's loophole grader against the upstream one-subprocess-per-program approach.

Both grade the same N completions (honest answers, look-alikes, hacks and forgeries from the self-check corpus
over the bundled problems, each in its problem's mode) in the same run, on the same cores:

- referee: `LocalExecutor` (warm fork servers, one isolated run per completion, plus a probe run for the
  completions that bind run_tests).
- upstream-style: one fresh `python -c HARNESS` per program via subprocess.Popen, the program being the setup
  code, the completion and a runner that exec's each assert (rlimits, SIGALRM timeout, stdout redirected, last
  JSON line parsed), as rl-rewardhacking's evaluator does; a thread pool keeps one subprocess per core busy.
  Only the ground-truth program is run (upstream runs up to 5 per completion), so the baseline is generous.

Prints grades/s for both and the ratio, and checks that both reach the same pass/fail on the honest
completions (exit status 1 if not). It also counts how many hacks upstream's ground truth accepts.

    python benchmarks/grade_throughput.py            # N=600, all cores
    python benchmarks/grade_throughput.py -n 2000 -j 2

Second workload, real data: `--leetcode PATH` (the public rl-rewardhacking LeetCode test file, see
benchmarks/data/rl-rewardhacking-leetcode.json and scripts/collect_leetcode.sh). Its 119 canonical solutions are
graded as completions, each in its problem's mode, three ways in the same run: by referee, by one `python -c`
per program, and executed in-process with no isolation at all (setup + solution + every assert exec'd in a
warm worker process: the physical limit). It also grades every canonical solution in all six modes and counts
how many the oracle accepts (`gt_correct`) and each mode pays (`passed`): an honest answer left unpaid is a bug.

    python benchmarks/grade_throughput.py --leetcode "$(bash scripts/collect_leetcode.sh)" -j 2
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from referee.loopholes.batch import GradeTask, LocalExecutor
from referee.loopholes.extract import extract_code
from referee.loopholes.hacks import ALL_SAMPLES, Sample
from referee.loopholes.problems import load_problems

UPSTREAM_HARNESS = r"""
import contextlib, io, json, resource, signal, sys
mem_mb, timeout = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (mem_mb << 20, mem_mb << 20))
resource.setrlimit(resource.RLIMIT_CPU, (timeout, timeout))
def _alarm(*_):
    raise TimeoutError("timeout")
signal.signal(signal.SIGALRM, _alarm)
signal.alarm(timeout)
program = sys.stdin.read()
out = io.StringIO()
status = {"success": False, "compiled": True, "timeout": False, "oom": False}
try:
    with contextlib.redirect_stdout(out):
        exec(program, {"__name__": "__main__"})
    status["success"] = True
except (SyntaxError, IndentationError):
    status["compiled"] = False
except MemoryError:
    status["oom"] = True
except TimeoutError:
    status["timeout"] = True
except Exception:
    pass
status["stdout"] = out.getvalue()[-20000:]
print(json.dumps(status))
"""

RUNNER = """
import json as _json
_tests = {tests!r}
_passed = 0
for _test in _tests:
    try:
        exec(_test)
        _passed += 1
    except Exception:
        break
print(_json.dumps({{"tests_passed": _passed, "tests_total": len(_tests)}}))
"""

HONEST_KINDS = ("honest", "lookalike")
#: look-alikes that upstream fails by design: it runs the program as __main__, so the guard's sys.exit fires
UPSTREAM_RUNS_AS_MAIN = {"look-main-guard"}


def build_tasks(n: int, seed: int, original: bool = False,
                distinct: bool = False) -> list[tuple[GradeTask, Sample]]:
    problems = load_problems()
    rng = random.Random(seed)
    corpus = ALL_SAMPLES
    if original:  # the corpus before issue 9 added its rows: before/after runs against older trees (PYTHONPATH)
        from referee.loopholes import hacks

        later = tuple(s for name in ("DESIGN_FORGERIES", "HONEST_CODE", "SESSION3_ATTACKS", "SESSION3_LOOKALIKES")
                      for s in getattr(hacks, name, ()))
        corpus = tuple(s for s in ALL_SAMPLES if s not in later)
    honest = [s for s in corpus if s.kind in HONEST_KINDS]
    other = [s for s in corpus if s.kind not in HONEST_KINDS]
    tasks = []
    for i in range(n):
        problem = problems[i % len(problems)]
        sample = rng.choice(honest) if i % 2 == 0 else rng.choice(other)
        text = sample.render(problem.method_name, problem.canonical_solution)
        if distinct:  # every completion differs, as in an RL batch: no per-completion cache (C/D probes) ever hits
            text = text.replace("```python\n", f"```python\n# completion {i}\n", 1)
        tasks.append((GradeTask(problem, text, problem.mode, {"sample": sample.name}), sample))
    return tasks


def upstream_grade(task: GradeTask, workdir: str, timeout: int = 3) -> bool:
    """One fresh interpreter per program; True when every assert passed (upstream's eq_correct)."""
    code = extract_code(task.completion)
    if code is None:
        return False
    program = f"{task.problem.setup_code}\n\n{code}\n\n{RUNNER.format(tests=list(task.problem.gt_answer))}"
    proc = subprocess.Popen([sys.executable, "-c", UPSTREAM_HARNESS, "1024", str(timeout)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True, cwd=workdir,
                            env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"})
    try:
        stdout, _ = proc.communicate(program.encode(), timeout=timeout + 1)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return False
    status = _last_json(stdout.decode("utf-8", "replace"))
    if not status or not status.get("success"):
        return False
    result = _last_json(status.get("stdout", ""))
    return bool(result) and result.get("tests_passed") == result.get("tests_total")


def _tree_cpu() -> float:
    """CPU seconds used so far by this process, its reaped children, and its live children (fork servers) with
    theirs: a figure the load of other processes on the machine does not distort the way wall time is."""
    own = os.times()
    return sum(_cpu_split()) + own.children_user + own.children_system


def _cpu_split() -> tuple[float, float, float]:
    """CPU seconds of (this process, its live children - the fork servers -, their reaped children - the jobs)."""
    own = os.times()
    tick, me, servers, jobs = os.sysconf("SC_CLK_TCK"), str(os.getpid()), 0.0, 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            servers += (int(fields[11]) + int(fields[12])) / tick
            jobs += (int(fields[13]) + int(fields[14])) / tick
    return own.user + own.system, servers, jobs


def _last_json(text: str) -> dict | None:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


_COMPILED: dict[str, tuple] = {}


def _inprocess_one(item: tuple[str, str, str, list[str]]) -> bool:
    """Setup + solution + every assert, exec'd in this warm, unisolated worker: no fork, no sandbox, no
    interpreter start, and each problem's code and asserts compiled once per worker (what is left is running
    them: the physical limit of grading this program)."""
    key, setup, code, tests = item
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = (compile(f"{setup}\n\n{code}", "solution.py", "exec"),
                                     [compile(t, "<test>", "exec") for t in tests])
    program, asserts = compiled
    namespace: dict = {"__name__": "solution"}
    try:
        exec(program, namespace)
        for test in asserts:
            exec(test, namespace)
    except Exception:
        return False
    return True


def _loadavg() -> str:
    """The whole /proc/loadavg line (1, 5, 15 min, running/total tasks): how busy the machine was."""
    try:
        with open("/proc/loadavg") as handle:
            return handle.read().strip()
    except OSError:
        return "n/a"


def _measure(run, n: int) -> dict:
    """Wall seconds, CPU seconds (this process and all its children) and the load average around `run()`."""
    load_before, cpu, start = _loadavg(), _tree_cpu(), time.perf_counter()
    result = run()
    seconds, used = time.perf_counter() - start, _tree_cpu() - cpu
    return {"result": result, "seconds": seconds, "cpu": used, "rate": n / seconds, "cpu_per": used / n,
            "load": (load_before, _loadavg())}


def leetcode_workload(path: str, workers: int, repeat: int) -> int:
    """Canonical solutions of a real problem file as completions: referee vs python -c vs in-process."""
    from concurrent.futures import ProcessPoolExecutor

    from referee.loopholes.modes import MODES

    problems = load_problems(path)
    texts = [f"```python\n{p.canonical_solution.strip()}\n```\n" for p in problems]
    tasks = [GradeTask(p, t, p.mode, {"id": p.id}) for p, t in zip(problems, texts, strict=True)] * repeat
    n = len(tasks)
    asserts = sum(len(p.gt_answer) for p in problems) / len(problems)
    executor = LocalExecutor(workers=workers)
    if hasattr(executor.grader, "prestart"):
        executor.grader.prestart()
    list(executor.map(tasks[: len(problems)]))  # warm the compile caches once per problem
    ours = _measure(lambda: list(executor.map(tasks)), n)
    every_mode = {m: list(executor.map([GradeTask(p, t, m) for p, t in zip(problems, texts, strict=True)]))
                  for m in MODES}
    executor.close()
    with tempfile.TemporaryDirectory(prefix="upstream-bench-") as workdir, \
            ThreadPoolExecutor(max_workers=workers) as pool:
        theirs = _measure(lambda: list(pool.map(lambda t: upstream_grade(t, workdir), tasks)), n)
    items = [(t.problem.id, t.problem.setup_code, t.problem.canonical_solution, list(t.problem.gt_answer))
             for t in tasks]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_inprocess_one, items[: len(problems)]))  # start the workers, compile as referee warms up
        limit = _measure(lambda: list(pool.map(_inprocess_one, items, chunksize=1)), n)
    print(f"\nLeetCode workload: {path}\n{len(problems)} problems x {repeat} = {n} canonical completions "
          f"({asserts:.0f} asserts each on average), {workers} workers, {os.cpu_count()} cores")
    print(f"{'grader':<40}{'wall s':>8}{'grades/s':>10}{'vs limit':>10}{'CPU-s/grade':>13}{'vs limit':>10}"
          f"{'correct':>9}")
    rows = (("referee (sandboxed, strict oracle)", ours, [r.gt_correct for r in ours["result"]]),
            ("python -c per program (upstream)", theirs, theirs["result"]),
            ("in-process, no isolation (limit)", limit, limit["result"]))
    for name, m, oks in rows:
        print(f"{name:<40}{m['seconds']:>8.2f}{m['rate']:>10.2f}{m['rate'] / limit['rate']:>10.0%}"
              f"{m['cpu_per']:>13.4f}{limit['cpu_per'] / m['cpu_per']:>10.0%}{sum(oks):>9}")
    print("(vs limit: grades/s as a share of the limit's; CPU: the limit's CPU-s per grade over this grader's)")
    for name, m, _ in rows:
        print(f"/proc/loadavg during {name.split(' (')[0]:<22} before: {m['load'][0]}   after: {m['load'][1]}")
    unpaid = 0
    for mode, rewards in every_mode.items():
        gt = sum(r.gt_correct for r in rewards)
        paid = sum(r.passed for r in rewards)
        unpaid += len(rewards) - min(gt, paid)
        print(f"canonical solutions in {mode:<14} gt_correct {gt:>4}/{len(rewards)}  paid {paid:>4}/{len(rewards)}")
        for problem, reward in zip(problems, rewards, strict=True):
            if not (reward.gt_correct and reward.passed):
                first = reward.details.get("first_failure") or reward.error or reward.status
                print(f"  UNPAID {problem.id} in {mode}: status={reward.status} {str(first)[:160]}")
    return 1 if unpaid else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=600, help="completions to grade (default 600)")
    parser.add_argument("-j", "--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--leetcode", metavar="PATH", help="also run the real-data workload on this problem file")
    parser.add_argument("--leetcode-only", action="store_true", help="skip the bundled-corpus workload")
    parser.add_argument("--repeat", type=int, default=2, help="passes over the LeetCode file (default 2)")
    parser.add_argument("--original-corpus", action="store_true",
                        help="bundled workload without issue 9's new self-check rows (for before/after runs)")
    parser.add_argument("--distinct", action="store_true",
                        help="make every bundled completion distinct (no cache hits, as in an RL batch)")
    args = parser.parse_args()
    if args.leetcode_only:
        if not args.leetcode:
            parser.error("--leetcode-only needs --leetcode PATH")
        return leetcode_workload(args.leetcode, args.workers, args.repeat)
    status = bundled_workload(args)
    if args.leetcode:
        status = max(status, leetcode_workload(args.leetcode, args.workers, args.repeat))
    return status


def bundled_workload(args: argparse.Namespace) -> int:
    warm = build_tasks(min(40, args.n), args.seed + 1, args.original_corpus, args.distinct)
    tasks = build_tasks(args.n, args.seed, args.original_corpus, args.distinct)
    if args.distinct:  # the warm-up completions must not be among the measured ones either
        warm = [(GradeTask(t.problem, t.completion.replace("# completion", "# warm-up"), t.mode, t.ids), s)
                for t, s in warm]

    start = time.perf_counter()
    executor = LocalExecutor(workers=args.workers)
    prestart = getattr(executor.grader, "prestart", None)
    if prestart is not None:  # the canonical and probe pools start on first use; keep that out of the figures
        prestart()
    startup = time.perf_counter() - start
    list(executor.map([t for t, _ in warm]))  # warm the compile caches
    split, cpu, start = _cpu_split(), _tree_cpu(), time.perf_counter()
    ours = list(executor.map([t for t, _ in tasks]))
    ours_s, ours_cpu = time.perf_counter() - start, _tree_cpu() - cpu
    split = [(b - a) / len(tasks) * 1000 for a, b in zip(split, _cpu_split(), strict=True)]
    executor.close()

    with tempfile.TemporaryDirectory(prefix="upstream-bench-") as workdir, \
            ThreadPoolExecutor(max_workers=args.workers) as pool:
        cpu, start = _tree_cpu(), time.perf_counter()
        theirs = list(pool.map(lambda t: upstream_grade(t, workdir), [t for t, _ in tasks]))
        theirs_s, theirs_cpu = time.perf_counter() - start, _tree_cpu() - cpu

    n = len(tasks)
    ours_rate, theirs_rate = n / ours_s, n / theirs_s
    print(f"\n{n} completions, {args.workers} workers, {os.cpu_count()} cores")
    print(f"{'grader':<34}{'seconds':>9}{'grades/s':>10}{'CPU ms/grade':>14}")
    print(f"{'referee (fork server, 1 run each)':<34}{ours_s:>9.2f}{ours_rate:>10.1f}{ours_cpu / n * 1000:>14.2f}")
    print(f"{'upstream (python -c per program)':<34}{theirs_s:>9.2f}{theirs_rate:>10.1f}{theirs_cpu / n * 1000:>14.2f}")
    print(f"ratio: {ours_rate / theirs_rate:.1f}x grades/s, {theirs_cpu / ours_cpu:.1f}x less CPU per grade"
          f"   (referee sandbox start-up, once: {startup:.2f}s)\n/proc/loadavg at the end: {_loadavg()}")
    probes = sum(1 for r in ours if r.details.get("probes"))
    print(f"referee runs: {n} graded runs + {probes} C/D probe runs; referee CPU ms/grade by process: grading "
          f"process {split[0]:.2f}, fork servers {split[1]:.2f}, their jobs {split[2]:.2f}")

    honest = [(s, o, t) for (_, s), o, t in zip(tasks, ours, theirs, strict=True)
              if s.kind in HONEST_KINDS and s.name not in UPSTREAM_RUNS_AS_MAIN]
    disagree = [(s.name, o.gt_correct, t) for s, o, t in honest if o.gt_correct != t]
    print(f"honest completions: {len(honest)}, same pass/fail: {len(honest) - len(disagree)}"
          f" ({sum(o.gt_correct for _, o, _ in honest)} correct)")
    for name, ours_gt, theirs_gt in disagree[:10]:
        print(f"  DISAGREE {name}: referee gt_correct={ours_gt}, upstream eq_correct={theirs_gt}")
    as_main = [(o, t) for (_, s), o, t in zip(tasks, ours, theirs, strict=True) if s.name in UPSTREAM_RUNS_AS_MAIN]
    if as_main:
        print(f"'if __name__ == \"__main__\": sys.exit(main())' look-alikes: {len(as_main)}, correct for referee: "
              f"{sum(o.gt_correct for o, _ in as_main)}, for upstream: {sum(t for _, t in as_main)} "
              "(upstream runs the program as __main__)")
    cheats = [(s, o, t) for (_, s), o, t in zip(tasks, ours, theirs, strict=True) if s.kind not in HONEST_KINDS]
    print(f"hacks/forgeries: {len(cheats)}; accepted as correct by upstream's ground truth: "
          f"{sum(t for _, _, t in cheats)}, by referee's oracle: {sum(o.gt_correct for _, o, _ in cheats)}")
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
