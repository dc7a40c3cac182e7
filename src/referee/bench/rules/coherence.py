"""Is a parity set usable as a correctness reference? A deliberately simple, documented heuristic.

Byte-parity between two legs only certifies correctness when the reference outputs are real text: greedy
decodes of `--dataset random` prompts, or of a model that degenerates, are gibberish that any broken kernel can
"match" or "miss" for reasons unrelated to correctness. Text is judged by word shape (letters with vowels,
sane casing, numbers, punctuation), repetition, and replacement characters. It errs toward calling text
coherent, because an unverifiable verdict on good text is recoverable and a missed gibberish set is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VOWELS = set("aeiouyAEIOUY")
STRIP = ".,;:!?\"'()[]{}<>*_`~“”‘’«»…-–—/\\|"
MIN_WORD_LIKE = 0.6
MIN_DISTINCT = 0.3
MIN_TOKENS_FOR_REPETITION = 12


def outputs_of(data: Any, side: str | None = None) -> list[str]:
    """Output texts from a parity document: a list of {prompt, output}, {"outputs": [...]}, or {ref, cand}."""
    if isinstance(data, dict):
        if side is not None and isinstance(data.get(side), list):
            data = data[side]
        elif isinstance(data.get("outputs"), list):
            data = data["outputs"]
        elif side is None and isinstance(data.get("ref"), list):
            data = data["ref"]
    if not isinstance(data, list):
        return []
    texts = []
    for item in data:
        if isinstance(item, dict):
            value = item.get("output", item.get("text"))
            texts.append(value if isinstance(value, str) else "")
        elif isinstance(item, str):
            texts.append(item)
    return texts


def prompts_of(data: Any, side: str | None = None) -> list[str | None]:
    if isinstance(data, dict):
        data = data.get(side) if side and isinstance(data.get(side), list) else data.get("outputs", data.get("ref"))
    if not isinstance(data, list):
        return []
    return [item.get("prompt") if isinstance(item, dict) and isinstance(item.get("prompt"), str) else None
            for item in data]


def _word_like(token: str) -> bool | None:
    core = token.strip(STRIP)
    if not core:
        return None
    parts = [p for p in core.replace("'", "-").replace("’", "-").split("-") if p]
    if not parts:
        return None
    for part in parts:
        if part.replace(".", "").replace(",", "").isdigit():
            continue
        if not part.isalpha():
            return False
        if part.isascii():
            cased = part.islower() or part.istitle() or (part.isupper() and len(part) <= 6)
            if not cased or (len(part) > 3 and not VOWELS & set(part)):
                return False
        elif any(c.isascii() for c in part):
            return False  # Latin mixed with another script inside one word
    return True


def text_is_coherent(text: str) -> bool:
    if not text.strip():
        return False
    if text.count("\ufffd") * 20 > len(text):
        return False
    tokens = text.split()
    if len(tokens) < 3:
        return True
    if len(tokens) >= MIN_TOKENS_FOR_REPETITION and len(set(tokens)) / len(tokens) < MIN_DISTINCT:
        return False
    judged = [w for w in (_word_like(t) for t in tokens) if w is not None]
    return not judged or sum(judged) / len(judged) >= MIN_WORD_LIKE


@dataclass(frozen=True)
class Coherence:
    coherent: bool
    incoherent: int
    total: int
    reason: str


def coherence_of(claim: Any, side: str | None = None) -> Coherence:
    """Judge a parity claim file's outputs (the `side` list when the file holds both legs)."""
    data = claim.data
    dataset = data.get("dataset") if isinstance(data, dict) else None
    texts = outputs_of(data, side)
    if not texts:
        return Coherence(False, 0, 0, "no decoded outputs")
    bad = sum(1 for t in texts if not text_is_coherent(t))
    if isinstance(dataset, str) and dataset.lower() == "random":
        return Coherence(False, bad, len(texts), "outputs come from the `random` dataset (meaningless decodes)")
    if bad * 2 > len(texts):
        return Coherence(False, bad, len(texts), f"{bad} of {len(texts)} outputs look like gibberish")
    return Coherence(True, bad, len(texts), f"{len(texts) - bad} of {len(texts)} outputs read as text")
