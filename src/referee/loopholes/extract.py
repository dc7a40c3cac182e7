"""Code extraction from a model's answer, as upstream does it (fenced blocks, the last one may be unterminated).

Upstream (`CodeEvaluator.parse_response`) collects every block that opens with a python fence or a bare fence
and ends at the closing fence or at the end of the text, strips each and joins them with a blank line. We do
the same, and also accept the `py`/`python3` tags; blocks tagged with another language (`text`, `bash`,
`json`, ...) are skipped, because they are not code the model meant to run. An opening fence is the last run
of three or more backticks (or tildes) on its line, followed only by an optional tag and text without fence
characters; a closing fence is a run of at least as many of the same character at the end of a line (so
``x = 1```` closes, while a ``"```"`` inside a string does not). No block means `format_ok` is False.

The scan reads each line once, from its end, with no regular expression: model output is untrusted, and a
backtracking pattern on a line of 100,000 backticks took minutes in the grading process, outside every sandbox
limit. Time is linear in the length of the text.
"""

from __future__ import annotations

_PYTHON_TAGS = {"", "python", "py", "python3", "py3"}
_FENCE_CHARS = "`~"
_MIN_FENCE = 3
_TAG_PUNCTUATION = frozenset("_+.#-")


def _last_run(line: str, end: int) -> tuple[int, str]:
    """(start, char) of the run of identical characters that ends just before `end`."""
    char = line[end - 1]
    start = end - 1
    while start > 0 and line[start - 1] == char:
        start -= 1
    return start, char


def _opening(line: str) -> tuple[str, str] | None:
    """(fence, tag) when `line` opens a block: its last fence run, then only a tag and fence-free text."""
    last = max(line.rfind("`"), line.rfind("~"))
    if last < 0:
        return None
    start, _ = _last_run(line, last + 1)
    if last + 1 - start < _MIN_FENCE:
        return None
    rest = line[last + 1:].lstrip(" \t")
    size = 0
    while size < len(rest) and (rest[size].isalnum() or rest[size] in _TAG_PUNCTUATION):
        size += 1
    return line[start:last + 1], rest[:size]


def _closes(line: str, fence: str) -> int | None:
    """Offset in `line` where a closing fence for `fence` starts, or None."""
    stripped = line.rstrip(" \t")
    if not stripped or stripped[-1] != fence[0]:
        return None
    start, _ = _last_run(stripped, len(stripped))
    return start if len(stripped) - start >= len(fence) else None


def _lines(text: str) -> list[tuple[int, str]]:
    """(offset, line) for every line of `text`, split on newline only (as a MULTILINE `$` does)."""
    lines, offset = [], 0
    while True:
        end = text.find("\n", offset)
        if end < 0:
            lines.append((offset, text[offset:]))
            return lines
        lines.append((offset, text[offset:end]))
        offset = end + 1


def code_blocks(text: str) -> list[str]:
    """The python (or untagged) fenced blocks of `text`, in order, each stripped."""
    blocks: list[str] = []
    lines = _lines(text)
    index = 0
    while index < len(lines):
        found = _opening(lines[index][1])
        index += 1
        if found is None:
            continue
        fence, tag = found
        body_start = lines[index][0] if index < len(lines) else len(text)
        body_end = len(text)
        while index < len(lines):
            offset, line = lines[index]
            index += 1
            at = _closes(line, fence)
            if at is not None:
                body_end = offset + at
                break
        if tag.lower() in _PYTHON_TAGS:
            body = text[body_start:body_end].strip("\n").strip()
            if body:
                blocks.append(body)
    return blocks


def extract_code(text: str | None) -> str | None:
    """All python blocks joined with a blank line, or None when the answer has none (format_ok = False)."""
    if not isinstance(text, str) or not text:
        return None
    blocks = code_blocks(text)
    return "\n\n".join(blocks) if blocks else None
