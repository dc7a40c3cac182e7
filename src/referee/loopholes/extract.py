"""Code extraction from a model's answer, as upstream does it (fenced blocks, the last one may be unterminated).

Upstream (`CodeEvaluator.parse_response`) collects every block that opens with a python fence or a bare fence
and ends at the closing fence or at the end of the text, strips each and joins them with a blank line. We do
the same, and also accept the `py`/`python3` tags; blocks tagged with another language (`text`, `bash`,
`json`, ...) are skipped, because they are not code the model meant to run. An opening fence ends its line; a
closing fence is a run of at least as many fence characters at the end of a line (so ``x = 1```` closes, while
a ``"```"`` inside a string does not). No block means `format_ok` is False.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"(`{3,}|~{3,})[ \t]*([\w+.#-]*)[^\n`~]*$", re.MULTILINE)
_PYTHON_TAGS = {"", "python", "py", "python3", "py3"}


def code_blocks(text: str) -> list[str]:
    """The python (or untagged) fenced blocks of `text`, in order, each stripped."""
    blocks: list[str] = []
    position = 0
    while True:
        opening = _FENCE.search(text, position)
        if opening is None:
            break
        fence, tag = opening.group(1), opening.group(2).lower()
        body_start = opening.end() + 1
        closing = re.compile(rf"{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        match = closing.search(text, min(body_start, len(text)))
        body_end = match.start() if match else len(text)
        if tag in _PYTHON_TAGS:
            body = text[body_start:body_end].strip("\n").strip()
            if body:
                blocks.append(body)
        if match is None:
            break
        position = match.end()
    return blocks


def extract_code(text: str | None) -> str | None:
    """All python blocks joined with a blank line, or None when the answer has none (format_ok = False)."""
    if not isinstance(text, str) or not text:
        return None
    blocks = code_blocks(text)
    return "\n\n".join(blocks) if blocks else None
