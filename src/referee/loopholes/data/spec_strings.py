"""String problems of the bundled set (written for this project)."""

from __future__ import annotations

import string
from itertools import groupby

from build_problems import Spec, seeded

LOWER = string.ascii_lowercase


def _words(rng, n, alphabet="ab"):
    return "".join(rng.choice(alphabet) for _ in range(n))


# ── bracket-depth ──────────────────────────────────────────────────────────────────────────────────────

def _bracket_ref(s):
    kept = "".join(ch for ch in s if ch in "()[]{}")
    depth, best = 0, 0
    for ch in kept:
        depth += 1 if ch in "([{" else -1
        best = max(best, depth)
    while True:
        shorter = kept.replace("()", "").replace("[]", "").replace("{}", "")
        if shorter == kept:
            break
        kept = shorter
    return best if kept == "" else -1


def _bracket_cases():
    rng = seeded("bracket-depth")
    cases = [{"s": ""}, {"s": "plain text"}, {"s": ")("}, {"s": "(("}, {"s": "{[()()]}"}, {"s": "a(b)c]"},
             {"s": "([)]"}, {"s": "(((x)))[y]{z}"}]
    for _ in range(6):
        # grow a valid string by wrapping and concatenating, then maybe break it
        parts = ["q"]
        for _ in range(rng.randint(2, 7)):
            o, c = rng.choice(["()", "[]", "{}"])
            parts = [o + "".join(parts) + c] if rng.random() < 0.5 else [*parts, o + "w" + c]
        s = "".join(parts)
        if rng.random() < 0.4:
            i = rng.randrange(len(s))
            s = s[:i] + rng.choice(")]}") + s[i + 1:]
        cases.append({"s": s})
    return cases


BRACKET_DEPTH = Spec(
    id="bracket-depth", difficulty="medium", tags=["string", "stack"],
    description="""
A string mixes ordinary characters with three kinds of brackets: `()`, `[]` and `{}`. The bracketing is sound
when every opening bracket is later closed by a bracket of the same kind, and pairs never cross each other
(`([)]` is not sound). Ordinary characters are ignored.

If the bracketing of `s` is sound, return the greatest number of bracket pairs that enclose any single point
of the string (0 when `s` has no brackets at all). If it is not sound, return -1.
""",
    signature="def maxBracketDepth(self, s: str) -> int:",
    solution='''
class Solution:
    def maxBracketDepth(self, s: str) -> int:
        partner = {")": "(", "]": "[", "}": "{"}
        stack = []
        best = 0
        for ch in s:
            if ch in "([{":
                stack.append(ch)
                best = max(best, len(stack))
            elif ch in partner:
                if not stack or stack[-1] != partner[ch]:
                    return -1
                stack.pop()
        return best if not stack else -1
''',
    examples=[({"s": "a(b[c]d){e}"}, 2), ({"s": "{(])}"}, -1)],
    cases=_bracket_cases(),
    constraints="- 0 <= s.length <= 200\n- s holds printable ASCII characters",
    reference=_bracket_ref,
)


# ── run-length ─────────────────────────────────────────────────────────────────────────────────────────

def _runs_ref(s):
    out = []
    for ch, grp in groupby(s):
        n = len(list(grp))
        out.append(ch + (str(n) if n > 1 else ""))
    return "".join(out)


def _runs_cases():
    rng = seeded("run-length")
    cases = [{"s": ""}, {"s": "z"}, {"s": "abc"}, {"s": "zzzzzzzzzzzz"}, {"s": "aabbaa"}]
    for n in (5, 9, 14, 20, 30, 40):
        cases.append({"s": "".join(rng.choice("abc") * rng.randint(1, 4) for _ in range(n // 3 + 1))})
    return cases


RUN_LENGTH = Spec(
    id="run-length", difficulty="easy", tags=["string"],
    description="""
Shorten a string of lowercase letters by writing each maximal block of one repeated letter as that letter
followed by the length of the block. A block of length one is written as the bare letter, with no number.
Return the shortened string.
""",
    signature="def compressRuns(self, s: str) -> str:",
    solution='''
class Solution:
    def compressRuns(self, s: str) -> str:
        out = []
        i = 0
        while i < len(s):
            j = i
            while j < len(s) and s[j] == s[i]:
                j += 1
            out.append(s[i] if j - i == 1 else s[i] + str(j - i))
            i = j
        return "".join(out)
''',
    examples=[({"s": "aaabccdddd"}, "a3bc2d4"), ({"s": "xyz"}, "xyz")],
    cases=_runs_cases(),
    constraints="- 0 <= s.length <= 300\n- s consists of lowercase English letters",
    reference=_runs_ref,
)


# ── distinct-window ────────────────────────────────────────────────────────────────────────────────────

def _distinct_ref(s):
    best = 0
    for i in range(len(s)):
        for j in range(i, len(s) + 1):
            if len(set(s[i:j])) == j - i:
                best = max(best, j - i)
    return best


def _distinct_cases():
    rng = seeded("distinct-window")
    cases = [{"s": ""}, {"s": "q"}, {"s": "aaaa"}, {"s": "abcdef"}, {"s": "abba"}, {"s": "tmmzuxt"}]
    for n in (8, 12, 16, 25, 40, 60):
        cases.append({"s": _words(rng, n, "abcdefgh")})
    return cases


DISTINCT_WINDOW = Spec(
    id="distinct-window", difficulty="medium", tags=["string", "sliding-window"],
    description="""
Return the length of the longest contiguous stretch of `s` in which no character occurs twice.
""",
    signature="def longestDistinctStretch(self, s: str) -> int:",
    solution='''
class Solution:
    def longestDistinctStretch(self, s: str) -> int:
        last = {}
        start = 0
        best = 0
        for i, ch in enumerate(s):
            if ch in last and last[ch] >= start:
                start = last[ch] + 1
            last[ch] = i
            best = max(best, i - start + 1)
        return best
''',
    examples=[({"s": "pwwkewq"}, 4), ({"s": "bbbb"}, 1)],
    cases=_distinct_cases(),
    constraints="- 0 <= s.length <= 100\n- s holds printable ASCII characters",
    reference=_distinct_ref,
)


# ── rotation-check ─────────────────────────────────────────────────────────────────────────────────────

def _rotation_cases():
    rng = seeded("rotation-check")
    cases = [{"a": "", "b": ""}, {"a": "a", "b": "a"}, {"a": "ab", "b": "abc"}, {"a": "abcde", "b": "cdeab"},
             {"a": "abcde", "b": "abced"}, {"a": "aa", "b": "aa"}, {"a": "abab", "b": "baba"}]
    for n in (6, 9, 12):
        a = _words(rng, n, "abc")
        k = rng.randrange(n)
        cases.append({"a": a, "b": a[k:] + a[:k]})
        b = list(a[k:] + a[:k])
        rng.shuffle(b)
        cases.append({"a": a, "b": "".join(b)})
    return cases


ROTATION_CHECK = Spec(
    id="rotation-check", difficulty="easy", tags=["string", "bool"],
    description="""
Rotating a string moves some number of its leading characters (possibly none, possibly all) to its end, in the
same order: one rotation of "spin" is "insp". Return True if `b` is a rotation of `a`, and False otherwise.
""",
    signature="def isRotation(self, a: str, b: str) -> bool:",
    solution='''
class Solution:
    def isRotation(self, a: str, b: str) -> bool:
        return len(a) == len(b) and b in a + a
''',
    examples=[({"a": "spin", "b": "insp"}, True), ({"a": "spin", "b": "snip"}, False)],
    cases=_rotation_cases(),
    constraints="- 0 <= a.length, b.length <= 100\n- a and b consist of lowercase English letters",
    reference=lambda a, b: any(a[i:] + a[:i] == b for i in range(len(a) + 1)) or (a == b == ""),
)


# ── word-pattern ───────────────────────────────────────────────────────────────────────────────────────

def _pattern_ref(pattern, sentence):
    words = sentence.split(" ")
    if len(words) != len(pattern):
        return False
    return [pattern.index(c) for c in pattern] == [words.index(w) for w in words]


def _pattern_cases():
    rng = seeded("word-pattern")
    vocab = ["red", "fox", "sky", "owl", "tea"]
    cases = [{"pattern": "a", "sentence": "owl"}, {"pattern": "ab", "sentence": "owl owl"},
             {"pattern": "aa", "sentence": "owl fox"}, {"pattern": "abc", "sentence": "red fox"},
             {"pattern": "abba", "sentence": "red fox fox red"}, {"pattern": "abab", "sentence": "red fox fox red"}]
    for n in (3, 4, 5, 6, 7, 8):
        pattern = _words(rng, n, "abc")
        table = dict(zip("abc", rng.sample(vocab, 3), strict=True))
        words = [table[c] for c in pattern]
        if rng.random() < 0.5:
            words[rng.randrange(n)] = rng.choice(vocab)
        cases.append({"pattern": pattern, "sentence": " ".join(words)})
    return cases


WORD_PATTERN = Spec(
    id="word-pattern", difficulty="easy", tags=["string", "hash-map", "bool"],
    description="""
`sentence` is a list of words separated by single spaces. It follows `pattern` when there is a one-to-one
correspondence between the letters of `pattern` and the distinct words of `sentence`: the i-th word is the
one assigned to the i-th letter, the same letter always stands for the same word, and two different letters
never stand for the same word. Return True if `sentence` follows `pattern`.
""",
    signature="def followsPattern(self, pattern: str, sentence: str) -> bool:",
    solution='''
class Solution:
    def followsPattern(self, pattern: str, sentence: str) -> bool:
        words = sentence.split(" ")
        if len(words) != len(pattern):
            return False
        to_word, to_letter = {}, {}
        for letter, word in zip(pattern, words):
            if to_word.setdefault(letter, word) != word or to_letter.setdefault(word, letter) != letter:
                return False
        return True
''',
    examples=[({"pattern": "xyyx", "sentence": "sun moon moon sun"}, True),
              ({"pattern": "xyyx", "sentence": "sun sun sun sun"}, False)],
    cases=_pattern_cases(),
    constraints="- 1 <= pattern.length <= 50\n- sentence holds lowercase words separated by single spaces",
    reference=_pattern_ref,
)


SPECS = [BRACKET_DEPTH, RUN_LENGTH, DISTINCT_WINDOW, ROTATION_CHECK, WORD_PATTERN]
