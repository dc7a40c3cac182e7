"""The loopholes part of referee: a multi-loophole RL coding environment and its reward grader.

Modules: `modes` (the six loophole modes, hints, codes), `problems` (the problem set and prompts), `extract`
(code from an answer), `testcases` (assert strings taken apart), `engine` (`Grader`: one sandboxed run per
completion), `harness`/`probes`/`guard` (what runs in the sandboxed child), `relay` (the fork-server handler),
`verdict` + `oracle` (the strict oracle, judged in the grading process), `graders` (what each mode pays on),
`detectors` (flag E), `reward` (`Reward`, `compute_reward`), `batch` (grading at scale), `selfcheck` with its
corpus (`samples`, `hacks`, `controls`), `summary` and `cli`. See docs/loopholes.md.
"""
