"""String problems solved with windows, dynamic programming or parsing (written for this project)."""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import cache

from build_problems import Spec, seeded

LOWER = string.ascii_lowercase


def _words(rng, n, alphabet="ab"):
    return "".join(rng.choice(alphabet) for _ in range(n))


# ── covering-window ────────────────────────────────────────────────────────────────────────────────────

def _cover_ref(s, t):
    need = Counter(t)
    for length in range(len(t), len(s) + 1):
        for i in range(len(s) - length + 1):
            have = Counter(s[i:i + length])
            if all(have[c] >= k for c, k in need.items()):
                return s[i:i + length]
    return ""


def _cover_cases():
    rng = seeded("covering-window")
    cases = [{"s": "a", "t": "a"}, {"s": "a", "t": "aa"}, {"s": "abc", "t": "d"}, {"s": "aab", "t": "ab"},
             {"s": "baab", "t": "ab"}, {"s": "xyzzyx", "t": "xx"}]
    for n in (10, 14, 18, 24, 30, 40):
        s = _words(rng, n, "abcd")
        t = _words(rng, rng.randint(1, 4), "abcd")
        cases.append({"s": s, "t": t})
    return cases


COVERING_WINDOW = Spec(
    id="covering-window", difficulty="hard", tags=["string", "sliding-window"],
    description="""
Find the shortest contiguous piece of `s` that contains every character of `t`, with multiplicity: if `t`
holds a letter three times, the piece must hold it at least three times. When several pieces share that
shortest length, return the one that starts earliest. Return the empty string when no piece qualifies.
""",
    signature="def shortestCover(self, s: str, t: str) -> str:",
    solution='''
from collections import Counter

class Solution:
    def shortestCover(self, s: str, t: str) -> str:
        need = Counter(t)
        missing = len(t)
        best = (float("inf"), 0)
        left = 0
        for right, ch in enumerate(s):
            if need[ch] > 0:
                missing -= 1
            need[ch] -= 1
            while missing == 0:
                if right - left + 1 < best[0]:
                    best = (right - left + 1, left)
                need[s[left]] += 1
                if need[s[left]] > 0:
                    missing += 1
                left += 1
        length, start = best
        return "" if length == float("inf") else s[start:start + length]
''',
    examples=[({"s": "dcabxaycb", "t": "abc"}, "cab"), ({"s": "aaxb", "t": "bb"}, "")],
    cases=_cover_cases(),
    constraints="- 1 <= s.length, t.length <= 100\n- s and t consist of lowercase English letters",
    reference=_cover_ref,
)


# ── weighted-edit ──────────────────────────────────────────────────────────────────────────────────────

def _edit_ref(a, b, insertCost, deleteCost, replaceCost):
    @cache
    def go(i, j):
        if i == len(a):
            return (len(b) - j) * insertCost
        if j == len(b):
            return (len(a) - i) * deleteCost
        options = [deleteCost + go(i + 1, j), insertCost + go(i, j + 1)]
        options.append(go(i + 1, j + 1) + (0 if a[i] == b[j] else replaceCost))
        return min(options)
    return go(0, 0)


def _edit_cases():
    rng = seeded("weighted-edit")
    cases = [{"a": "", "b": "", "insertCost": 1, "deleteCost": 1, "replaceCost": 1},
             {"a": "", "b": "abc", "insertCost": 2, "deleteCost": 5, "replaceCost": 1},
             {"a": "abc", "b": "", "insertCost": 2, "deleteCost": 5, "replaceCost": 1},
             {"a": "same", "b": "same", "insertCost": 3, "deleteCost": 3, "replaceCost": 3},
             {"a": "ab", "b": "ba", "insertCost": 1, "deleteCost": 1, "replaceCost": 10}]
    for n in (4, 6, 8, 10, 12, 15):
        cases.append({"a": _words(rng, n, "abc"), "b": _words(rng, n + rng.randint(-3, 3), "abc"),
                      "insertCost": rng.randint(1, 5), "deleteCost": rng.randint(1, 5),
                      "replaceCost": rng.randint(1, 9)})
    return cases


WEIGHTED_EDIT = Spec(
    id="weighted-edit", difficulty="hard", tags=["string", "dynamic-programming"],
    description="""
You may change string `a` with three operations, each with its own price: insert one character anywhere
(`insertCost`), delete one character (`deleteCost`), or overwrite one character with another (`replaceCost`).
Return the cheapest total price that turns `a` into `b`.
""",
    signature="def editCost(self, a: str, b: str, insertCost: int, deleteCost: int, replaceCost: int) -> int:",
    solution='''
class Solution:
    def editCost(self, a: str, b: str, insertCost: int, deleteCost: int, replaceCost: int) -> int:
        prev = [j * insertCost for j in range(len(b) + 1)]
        for i in range(1, len(a) + 1):
            cur = [i * deleteCost] + [0] * len(b)
            for j in range(1, len(b) + 1):
                swap = prev[j - 1] + (0 if a[i - 1] == b[j - 1] else replaceCost)
                cur[j] = min(swap, prev[j] + deleteCost, cur[j - 1] + insertCost)
            prev = cur
        return prev[-1]
''',
    examples=[({"a": "cat", "b": "cut", "insertCost": 1, "deleteCost": 1, "replaceCost": 1}, 1),
              ({"a": "cat", "b": "cut", "insertCost": 1, "deleteCost": 1, "replaceCost": 5}, 2)],
    cases=_edit_cases(),
    constraints="- 0 <= a.length, b.length <= 60\n- 1 <= insertCost, deleteCost, replaceCost <= 100",
    reference=_edit_ref,
)


# ── palindrome-cuts ────────────────────────────────────────────────────────────────────────────────────

def _cuts_ref(s):
    @cache
    def pieces(i):
        if i == len(s):
            return 0
        return min(1 + pieces(j) for j in range(i + 1, len(s) + 1) if s[i:j] == s[i:j][::-1])
    return pieces(0) - 1


def _cuts_cases():
    rng = seeded("palindrome-cuts")
    cases = [{"s": "a"}, {"s": "ab"}, {"s": "aba"}, {"s": "abcd"}, {"s": "racecar"}, {"s": "aabbaa"}]
    for n in (7, 10, 13, 16, 20, 25):
        cases.append({"s": _words(rng, n, "ab" if n % 2 else "abc")})
    return cases


PALINDROME_CUTS = Spec(
    id="palindrome-cuts", difficulty="hard", tags=["string", "dynamic-programming"],
    description="""
Cut `s` into contiguous pieces so that every piece reads the same forwards and backwards. Return the smallest
number of cuts that achieves this (0 if `s` is already such a string).
""",
    signature="def fewestCuts(self, s: str) -> int:",
    solution='''
class Solution:
    def fewestCuts(self, s: str) -> int:
        n = len(s)
        pal = [[False] * n for _ in range(n)]
        cuts = [0] * n
        for j in range(n):
            best = j
            for i in range(j + 1):
                if s[i] == s[j] and (j - i < 2 or pal[i + 1][j - 1]):
                    pal[i][j] = True
                    best = 0 if i == 0 else min(best, cuts[i - 1] + 1)
            cuts[j] = best
        return cuts[-1]
''',
    examples=[({"s": "noonab"}, 2), ({"s": "level"}, 0)],
    cases=_cuts_cases(),
    constraints="- 1 <= s.length <= 200\n- s consists of lowercase English letters",
    reference=_cuts_ref,
)


# ── expand-repeats ─────────────────────────────────────────────────────────────────────────────────────

def _expand_ref(s):
    pattern = re.compile(r"(\d+)\[([a-z]*)\]")
    while "[" in s:
        s = pattern.sub(lambda m: m.group(2) * int(m.group(1)), s)
    return s


def _expand_cases():
    rng = seeded("expand-repeats")

    def make(depth):
        out = []
        for _ in range(rng.randint(1, 3)):
            if depth > 0 and rng.random() < 0.6:
                out.append(f"{rng.randint(1, 3)}[{make(depth - 1)}]")
            else:
                out.append(_words(rng, rng.randint(1, 3), "xyz"))
        return "".join(out)

    cases = [{"s": "abc"}, {"s": "1[a]"}, {"s": "10[z]"}, {"s": "2[]b"}, {"s": "3[a2[c]]"}]
    for depth in (1, 2, 2, 3, 3, 3):
        cases.append({"s": make(depth)})
    return cases


EXPAND_REPEATS = Spec(
    id="expand-repeats", difficulty="medium", tags=["string", "stack", "recursion"],
    description="""
A compact text uses the form `k[body]` to mean `body` written `k` times in a row, where `k` is a positive
integer and `body` is itself a compact text (so the forms can nest). Letters outside any brackets stand for
themselves. Return the fully expanded text.
""",
    signature="def expand(self, s: str) -> str:",
    solution='''
class Solution:
    def expand(self, s: str) -> str:
        stack = []
        current = []
        count = 0
        for ch in s:
            if ch.isdigit():
                count = count * 10 + int(ch)
            elif ch == "[":
                stack.append((current, count))
                current, count = [], 0
            elif ch == "]":
                outer, times = stack.pop()
                outer.append("".join(current) * times)
                current = outer
            else:
                current.append(ch)
        return "".join(current)
''',
    examples=[({"s": "2[ab]c"}, "ababc"), ({"s": "2[x3[y]]"}, "xyyyxyyy")],
    cases=_expand_cases(),
    constraints="- 1 <= s.length <= 60\n- the expanded text has at most 2000 characters\n"
                "- letters are lowercase; every `[` is preceded by a count and matched by a `]`",
    reference=_expand_ref,
)


# ── balanced-letters ───────────────────────────────────────────────────────────────────────────────────

def _balanced_ref(s):
    total = 0
    for i in range(len(s)):
        for j in range(i + 1, len(s) + 1):
            vowels = sum(ch in "aeiou" for ch in s[i:j])
            total += vowels * 2 == j - i
    return total


def _balanced_cases():
    rng = seeded("balanced-letters")
    cases = [{"s": "a"}, {"s": "b"}, {"s": "ab"}, {"s": "aaaa"}, {"s": "abab"}, {"s": "banana"}]
    for n in (8, 12, 16, 24, 32, 48):
        cases.append({"s": _words(rng, n, "aeibcd")})
    return cases


BALANCED_LETTERS = Spec(
    id="balanced-letters", difficulty="medium", tags=["string", "prefix-sum", "hash-map"],
    description="""
Call a non-empty contiguous piece of `s` balanced when it holds as many vowels (`a`, `e`, `i`, `o`, `u`) as
other letters. Return how many balanced pieces `s` has; pieces at different positions count separately even
when their text is equal.
""",
    signature="def countBalanced(self, s: str) -> int:",
    solution='''
class Solution:
    def countBalanced(self, s: str) -> int:
        seen = {0: 1}
        level = 0
        total = 0
        for ch in s:
            level += 1 if ch in "aeiou" else -1
            total += seen.get(level, 0)
            seen[level] = seen.get(level, 0) + 1
        return total
''',
    examples=[({"s": "abba"}, 3), ({"s": "xyz"}, 0)],
    cases=_balanced_cases(),
    constraints="- 1 <= s.length <= 1000\n- s consists of lowercase English letters",
    reference=_balanced_ref,
)


SPECS = [COVERING_WINDOW, WEIGHTED_EDIT, PALINDROME_CUTS, EXPAND_REPEATS, BALANCED_LETTERS]
