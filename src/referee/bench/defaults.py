"""Engine defaults per engine and release, on canonical keys, for configs that list only what was set.

vLLM's `non-default args: {...}` log line (0.9+) and an echoed launch argv omit every default, so a key seen on
one leg only means "the engine default" on the other. Where the default is a constant of the release it is
listed here (from the engines' argparse / EngineArgs defaults); where it depends on the hardware or the model
(vLLM V1's `max_num_seqs` and `max_num_batched_tokens` by GPU memory and usage context, SGLang's mem fraction
and chunked prefill resolved from GPU memory at launch) it is deliberately absent, and the comparison treats
it as an unknown value that an explicit setting on the other leg differs from.
"""

from __future__ import annotations

from typing import Any

#: defaults that hold for every listed release of the engine.
COMMON: dict[str, dict[str, Any]] = {
    "vllm": {"kv_mem_fraction": 0.9, "tp": 1, "pp": 1, "dp": 1, "page_size": 16, "graphs_enabled": True,
             "quantization": None, "kv_cache_dtype": "auto", "dtype": "auto", "spec_decode": None,
             "context_length": None, "ep": None, "torch_compile": None, "model": None},
    "sglang": {"tp": 1, "pp": 1, "dp": 1, "ep": 1, "page_size": 1, "graphs_enabled": True, "quantization": None,
               "kv_cache_dtype": "auto", "dtype": "auto", "spec_decode": None, "torch_compile": False,
               "prefix_cache": True, "schedule_policy": "fcfs", "enable_dp_attention": False, "context_length": None},
}

#: (engine, first release with the value) -> defaults that changed across releases, newest last.
BY_RELEASE: list[tuple[str, tuple[int, ...], dict[str, Any]]] = [
    ("vllm", (0, 0), {"max_running_requests": 256, "prefix_cache": False, "chunked_prefill": None}),
    # V1 engine default (0.8+): prefix caching and chunked prefill on; max_num_seqs chosen per GPU and context
    ("vllm", (0, 8), {"prefix_cache": True, "chunked_prefill": True, "max_running_requests": None}),
]

UNKNOWN_AFTER = {("vllm", "max_running_requests"): (0, 8)}


def _version(text: Any) -> tuple[int, ...] | None:
    if not isinstance(text, str | int | float):
        return None
    parts = []
    for piece in str(text).split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) or None


def engine_default(engine: str | None, version: Any, key: str) -> tuple[bool, Any]:
    """(known, value) of the default of a canonical key for an engine release; unknown when it is hardware-,
    model- or version-dependent (or the engine/release is not known)."""
    if engine not in COMMON:
        return False, None
    v = _version(version)
    floor = UNKNOWN_AFTER.get((engine, key))
    if floor is not None and (v is None or v >= floor):
        return False, None
    found, value = key in COMMON[engine], COMMON[engine].get(key)
    for name, since, table in BY_RELEASE:
        if name == engine and key in table and (v is None or v >= since):
            found, value = True, table[key]
    if found and value is None and key in ("max_running_requests", "chunked_prefill"):
        return False, None
    return found, value
