"""Parsers for the launch-config text an engine leaves behind: argv, `ServerArgs(...)`, `Namespace(...)`, dicts.

Server logs are untrusted text, so nothing here evaluates anything: Python reprs are read with `ast.parse` +
`ast.literal_eval` on each value (a value that is not a literal is kept as its source text), and every input is
length-capped before parsing so a pathological log line cannot exhaust memory or the parser's recursion.
"""

from __future__ import annotations

import ast
import re
import shlex
from typing import Any

#: longest repr/argv line we are willing to parse (ServerArgs reprs are ~10 KB; 1 MB is generous).
MAX_TEXT = 1_000_000

SHORT_OPTIONS = {"-tp": "tensor_parallel_size", "-pp": "pipeline_parallel_size", "-dp": "data_parallel_size",
                 "-q": "quantization", "-O": "compilation_level"}

#: launcher words after which the next bare word is the model (`vllm serve MODEL ...`).
MODEL_POSITIONAL_AFTER = {"serve"}

#: `<function serve at 0x7f...>`, `<EngineType.X: 1>`: object reprs with no literal form, kept as text.
OBJECT_REPR = re.compile(r"<[A-Za-z_][^<>'\"]{0,200}>")


def parse_argv(argv: list[str]) -> dict[str, Any]:
    """`--key value`, `--key=value` and bare `--flag` (True) pairs; `vllm serve MODEL` yields `model`."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in SHORT_OPTIONS and i + 1 < len(argv):
            out[SHORT_OPTIONS[word]] = argv[i + 1]
            i += 2
            continue
        if word.startswith("--") and len(word) > 2:
            name, eq, value = word[2:].partition("=")
            name = name.replace("-", "_")
            if eq:
                out[name] = value
            elif i + 1 < len(argv) and not argv[i + 1].startswith("--") and not _is_option(argv[i + 1]):
                out[name] = argv[i + 1]
                i += 1
            else:
                out[name] = True
        elif word in MODEL_POSITIONAL_AFTER and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            out.setdefault("model", argv[i + 1])
            i += 1
        i += 1
    return out


def _is_option(word: str) -> bool:
    return word in SHORT_OPTIONS or (word.startswith("-") and len(word) > 1 and not _is_number(word))


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def parse_command_line(text: str) -> dict[str, Any] | None:
    """argv of a launch command echoed into a log (`python -m sglang.launch_server ...`, `vllm serve ...`)."""
    if len(text) > MAX_TEXT:
        return None
    try:
        words = shlex.split(text, posix=True)
    except ValueError:
        words = text.split()
    parsed = parse_argv(words)
    return parsed or None


def parse_call_repr(text: str) -> dict[str, Any] | None:
    """Keyword arguments of a `ServerArgs(a=1, b='x')` / `Namespace(...)` repr; None when it does not parse."""
    if len(text) > MAX_TEXT:
        return None
    start = text.find("(")
    if start < 0:
        return None
    body = text[start:].strip()
    try:
        tree = ast.parse("f" + body, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # a repr that is not Python: `dispatch_function=<function serve at 0x7f..>` in vLLM's Namespace dump
        try:
            tree = ast.parse("f" + OBJECT_REPR.sub(lambda m: repr(m.group(0)), body), mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    call = tree.body
    if not isinstance(call, ast.Call):
        return None
    out: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            continue
        out[keyword.arg] = _literal(keyword.value)
    return out


def parse_dict_literal(text: str) -> dict[str, Any] | None:
    """A `{...}` Python/JSON literal (vLLM's `non-default args: {...}`); None when it is not one."""
    if len(text) > MAX_TEXT:
        return None
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not isinstance(tree.body, ast.Dict):
        return None
    out: dict[str, Any] = {}
    for key, value in zip(tree.body.keys, tree.body.values, strict=False):
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            out[key.value] = _literal(value)
    return out


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        try:
            return ast.unparse(node)
        except (ValueError, RecursionError):
            return None
