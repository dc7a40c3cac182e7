"""extract_code: fenced python blocks like upstream, including an unterminated last block."""

from __future__ import annotations

import pytest

from referee.loopholes.extract import code_blocks, extract_code


@pytest.mark.parametrize(("text", "expected"), [
    ("```python\nx = 1\n```", "x = 1"),
    ("intro\n```py\nx = 1\n```\nmore text\n```\ny = 2\n```", "x = 1\n\ny = 2"),
    ("```python\nclass Solution:\n    pass\n", "class Solution:\n    pass"),  # unterminated last block
    ("```python3\nx = 1\n```", "x = 1"),
    ("Here it is: ```python\nx = 1\ny = 2```\nthanks", "x = 1\ny = 2"),  # fences not on their own line
    ("````python\ns = '```'\n````", "s = '```'"),  # a longer fence contains a shorter one
    ("```python\ns = \"```\"\nx = 1\n```", 's = "```"\nx = 1'),  # a fence inside a string does not close
])
def test_python_blocks_are_extracted(text, expected):
    assert extract_code(text) == expected


@pytest.mark.parametrize("text", ["no code at all", "", "```text\nnot code\n```", "```bash\nls\n```",
                                  "```python\n```", None])
def test_no_python_block_means_no_code(text):
    assert extract_code(text) is None


def test_other_language_blocks_are_skipped_but_python_kept():
    text = "```json\n{\"a\": 1}\n```\n```python\nx = 1\n```"
    assert code_blocks(text) == ["x = 1"]
