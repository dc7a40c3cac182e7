"""Facts from a leg's `server.log`: launch config, KV budget and peak use, engagement, contention, crashes.

The log is the only launch-config evidence for vLLM legs and for SGLang legs written without `server_info`, and
the only place that shows whether a patch ran at all (engagement) or whether something else shared the GPU.
It is read line by line with cheap substring checks before any regex, and each fact keeps its line number.
Nothing written in the log can switch a check off: only the patterns below are read, never directives.
"""

from __future__ import annotations

import re
from pathlib import Path

from referee.bench.io.argv import parse_call_repr, parse_command_line, parse_dict_literal
from referee.bench.io.files import bounded_lines, is_regular
from referee.bench.model import LogFacts

MAX_LINE = 1 << 16
MAX_REPR_LINE = 1 << 20
MAX_KEPT = 50

ENV_LINE = re.compile(r"^\s*(?:\+\s*)?(?:export\s+)?([A-Z][A-Z0-9_]{1,63})=(\S*)\s*$")
LAUNCHERS = ("sglang.launch_server", "vllm serve ", "vllm.entrypoints.openai.api_server")
SGLANG_KV = re.compile(r"max_total_num_tokens\s*=\s*(\d+)|KV Cache is allocated\. #tokens:\s*(\d+)")
VLLM_KV = re.compile(r"GPU KV cache size:\s*([\d,]+)\s*tokens")
#: `# GPU blocks: N` (vLLM <= 0.6.3), `# CUDA blocks: N` (0.6.4+: the platform dispatch key), never `# CPU blocks`.
VLLM_BLOCKS = re.compile(r"#\s*(GPU|CUDA|ROCm|XPU|HPU|NPU|TPU) blocks:\s*(\d+)")
VLLM_VERSION = re.compile(r"vLLM API server version ([\w.+-]+)")
SGLANG_RUNNING = re.compile(r"#running-req:\s*(\d+)")
SGLANG_TOKENS = re.compile(r"#token:\s*(\d+)")
SGLANG_USAGE = re.compile(r"token usage:\s*([\d.]+)")
VLLM_RUNNING = re.compile(r"Running:\s*(\d+)\s*reqs")
VLLM_USAGE = re.compile(r"KV cache usage:\s*([\d.]+)%")

#: a patch or tuning table announcing that it is live on the serving path. GEAK's overlay loader writes
#: `[overlay] injected module A <- F` and `[overlay] rebound T -> M.A`; its candidates print `[overlay-mark] ...
#: CALLED` / `[OVERLAY_ENGAGED]`. A line that reports a failure never counts (OVERLAY_FAILED below).
ENGAGEMENT = (
    re.compile(r"\[overlay\] injected module \S+"),
    re.compile(r"\[overlay\] rebound \S+ -> \S+"),
    re.compile(r"\[overlay-mark\].*\bCALLED\b|\[OVERLAY_ENGAGED\]"),
    re.compile(r"(?i)\boverlay\b.*\b(bound|binding|rebound|loaded|applied|active|engaged|injected)\b"),
    re.compile(r"is tuned on cu_num"),
    re.compile(r"(?i)\b(rebind|rebound)\b.*->"),
    re.compile(r"(?i)\b(using|loaded) (tuned|tuning) (config|table|file)\b"),
)
OVERLAY_FAILED = re.compile(r"(?i)\[overlay[^\]]*\].*\b(failed|error|exception)\b|\boverlay\b.*\bFAILED\b")
FORWARD_COUNT = re.compile(r"(?i)live[-_ ]forward(?:s|[-_ ]count)?\s*[:=]\s*(\d+)")
REBIND_TARGET = re.compile(r"(?i)\b(?:target[-_ ]callable|rebind target|dispatch target)\s*[:=]\s*([\w.:/<>-]+)")

#: something else used the GPU, or the per-GPU lock that serialises legs was not held.
CONTENTION = (
    re.compile(r"(?i)\bco[- ]?tenant\b"),
    re.compile(r"(?i)\b(another|other) process(es)? (is |are )?(using|running on|holding) (the )?gpu"),
    re.compile(r"(?i)\bgpu[-_ ]?(lock|flock)\b.*\b(not acquired|busy|held by|failed|timed? ?out|skipped)\b"),
    re.compile(r"(?i)\bflock\b.*\b(failed|busy|would block)\b"),
)
STORM_MARKER = "rocm_agent_enumerator"

CRASH = (
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r"HSA_STATUS_ERROR|hipErrorIllegalAddress|illegal memory access"),
    re.compile(r"(?i)\bCUDA error\b|\bsegmentation fault\b|\bcore dumped\b"),
    re.compile(r"(?i)\bout of memory\b|OutOfMemoryError"),
    re.compile(r"(?i)\bserver (process )?(died|crashed|exited unexpectedly)\b"),
)

CRASH_WORDS = ("traceback", "hsa_", "error", "illegal", "fault", "dumped", "memory", "died", "crash", "exited")


def read_log(path: Path) -> LogFacts:
    """Parse a server log. Unreadable files give LogFacts with `error` set, never an exception."""
    facts = LogFacts(file=str(path))
    storms: list[int] = []
    if not is_regular(path):
        facts.error = f"cannot read {path}: not a regular file"
        return facts
    blocks = None
    try:
        for number, raw in enumerate(bounded_lines(path, MAX_REPR_LINE), start=1):
            facts.lines = number
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            _config(facts, line, number)
            text = line[:MAX_LINE]
            _capacity(facts, text, number)
            if STORM_MARKER in text:
                storms.append(number)
            if " blocks:" in text and (m := VLLM_BLOCKS.search(text)):
                blocks = (int(m.group(2)), number)
            if facts.version is None and "server version" in text and (m := VLLM_VERSION.search(text)):
                facts.version = (m.group(1), number)
            if "=" in text and (m := ENV_LINE.match(text)):
                facts.env.setdefault(m.group(1), (m.group(2), number))
            _markers(facts, text, number)
    except OSError as exc:
        facts.error = f"cannot read {path}: {exc.strerror or exc}"
        return facts
    if facts.kv_budget_tokens is None and blocks is not None:
        block_size = next((c.get("block_size") for _, c, _ in facts.configs if c.get("block_size")), 16)
        try:
            facts.kv_budget_tokens = (blocks[0] * int(block_size), blocks[1])
        except (TypeError, ValueError):
            pass
    if len(storms) >= 3:
        facts.contention.append((storms[0], f"{len(storms)} `{STORM_MARKER}` lines (process storm)"))
    return facts


def _config(facts: LogFacts, line: str, number: int) -> None:
    """Launch args with a trust rank: the engine's own repr of its parsed args (3, 2) beats an echoed argv (1)."""
    parsed, engine, priority = None, None, 0
    if len(facts.configs) >= MAX_KEPT:
        return
    if "ServerArgs(" in line:
        parsed, engine, priority = parse_call_repr(line[line.find("ServerArgs("):]), "sglang", 4
    elif "non-default args:" in line:
        parsed = parse_dict_literal(line[line.find("{", line.find("non-default args:")):])
        engine, priority = "vllm", 2
    elif "args: Namespace(" in line:
        parsed, engine, priority = parse_call_repr(line[line.find("Namespace("):]), "vllm", 3
    elif "--" in line and any(word in line for word in LAUNCHERS):
        start = min(line.find(w) for w in LAUNCHERS if w in line)
        parsed, priority = parse_command_line(line[start:]), 1
        engine = "sglang" if "sglang" in line[start:start + 30] else "vllm"
    if parsed:
        facts.configs.append((priority, parsed, number))
        facts.engine = facts.engine or engine


def _capacity(facts: LogFacts, text: str, number: int) -> None:
    if ("num_tokens" in text or "KV Cache is allocated" in text) and (m := SGLANG_KV.search(text)):
        facts.kv_budget_tokens = facts.kv_budget_tokens or (int(m.group(1) or m.group(2)), number)
    if "KV cache size" in text and (m := VLLM_KV.search(text)):
        facts.kv_budget_tokens = facts.kv_budget_tokens or (int(m.group(1).replace(",", "")), number)
    if "#running-req" in text:
        _peak(facts, "peak_running", SGLANG_RUNNING.search(text), number)
        _peak(facts, "peak_tokens", SGLANG_TOKENS.search(text), number)
        _peak(facts, "peak_usage", SGLANG_USAGE.search(text), number)
    elif "Running:" in text:
        _peak(facts, "peak_running", VLLM_RUNNING.search(text), number)
        if m := VLLM_USAGE.search(text):
            value = float(m.group(1)) / 100.0
            if facts.peak_usage is None or value > facts.peak_usage[0]:
                facts.peak_usage = (value, number)


def _peak(facts: LogFacts, attr: str, match: re.Match[str] | None, number: int) -> None:
    if match is None:
        return
    try:
        value = float(match.group(1))
    except ValueError:
        return
    current = getattr(facts, attr)
    if current is None or value > current[0]:
        setattr(facts, attr, (value, number))


def _markers(facts: LogFacts, text: str, number: int) -> None:
    low = text.lower()
    if "overlay" in low and OVERLAY_FAILED.search(text):
        if len(facts.overlay_failures) < MAX_KEPT:
            facts.overlay_failures.append((number, text.strip()[:200]))
    elif ("overlay" in low or "rebind" in low or "rebound" in low or "tuned" in low or "tuning" in low) and any(
            p.search(text) for p in ENGAGEMENT) and len(facts.engagement) < MAX_KEPT:
        facts.engagement.append((number, text.strip()[:200]))
    if "forward" in low and (m := FORWARD_COUNT.search(text)) and len(facts.forward_counts) < MAX_KEPT:
        facts.forward_counts.append((number, int(m.group(1))))
    if ("target" in low) and (m := REBIND_TARGET.search(text)) and len(facts.rebind_targets) < MAX_KEPT:
        facts.rebind_targets.append((number, m.group(1)))
    if ("tenant" in low or "process" in low or "lock" in low) and any(p.search(text) for p in CONTENTION) and len(
            facts.contention) < MAX_KEPT:
        facts.contention.append((number, text.strip()[:200]))
    if any(w in low for w in CRASH_WORDS) and any(p.search(text) for p in CRASH) and len(facts.crashes) < MAX_KEPT:
        facts.crashes.append((number, text.strip()[:200]))
