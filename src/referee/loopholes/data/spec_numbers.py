"""Integer and floating-point problems of the bundled set (written for this project).

Float answers are exact by construction (multiples of 0.5, or a single division rounded with `round(x, 5)`
as the statement requires), so the upstream `==` asserts hold for any correct solution.
"""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import combinations, pairwise

from build_problems import Spec, seeded

# ── digit-persistence ──────────────────────────────────────────────────────────────────────────────────

DIGIT_PERSISTENCE = Spec(
    id="digit-persistence", difficulty="easy", tags=["math", "integer"],
    description="""
Starting from a non-negative integer `n`, repeatedly replace the number by the product of its decimal digits
until it has a single digit. Return how many replacements this takes (0 when `n` already has one digit).
""",
    signature="def multiplicativeSteps(self, n: int) -> int:",
    solution='''
class Solution:
    def multiplicativeSteps(self, n: int) -> int:
        steps = 0
        while n >= 10:
            product = 1
            for digit in str(n):
                product *= int(digit)
            n = product
            steps += 1
        return steps
''',
    examples=[({"n": 39}, 3), ({"n": 999}, 4), ({"n": 7}, 0)],
    cases=[{"n": 0}, {"n": 10}, {"n": 25}, {"n": 77}, {"n": 679}, {"n": 6788}, {"n": 68889}, {"n": 2677889},
           {"n": 26888999}, {"n": 3778888999}, {"n": 105}],
    constraints="- 0 <= n <= 10^12",
)


# ── primes-below ───────────────────────────────────────────────────────────────────────────────────────

def _primes_ref(n):
    return sum(all(k % d for d in range(2, math.isqrt(k) + 1)) for k in range(2, n))


PRIMES_BELOW = Spec(
    id="primes-below", difficulty="medium", tags=["math", "sieve"],
    description="""
Return how many prime numbers are strictly less than `n`.
""",
    signature="def countPrimesBelow(self, n: int) -> int:",
    solution='''
class Solution:
    def countPrimesBelow(self, n: int) -> int:
        if n < 3:
            return 0
        sieve = bytearray([1]) * n
        sieve[0] = sieve[1] = 0
        for p in range(2, int(n ** 0.5) + 1):
            if sieve[p]:
                sieve[p * p::p] = bytearray(len(range(p * p, n, p)))
        return sum(sieve)
''',
    examples=[({"n": 10}, 4), ({"n": 2}, 0)],
    cases=[{"n": 0}, {"n": 1}, {"n": 3}, {"n": 4}, {"n": 11}, {"n": 12}, {"n": 100}, {"n": 541}, {"n": 1000},
           {"n": 7919}, {"n": 30000}],
    constraints="- 0 <= n <= 5 * 10^6",
    reference=_primes_ref,
)


# ── to-base ────────────────────────────────────────────────────────────────────────────────────────────

def _to_base_ref(n, base):
    """Python's own formatting where it has one, digit peeling otherwise; both must parse back to n."""
    if base in (2, 8, 10, 16):
        text = format(abs(n), {2: "b", 8: "o", 10: "d", 16: "x"}[base])
    else:
        text, m = "", abs(n)
        while True:
            text = "0123456789abcdef"[m % base] + text
            m //= base
            if m == 0:
                break
    text = ("-" if n < 0 else "") + text
    assert int(text, base) == n
    return text


def _to_base_cases():
    rng = seeded("to-base")
    cases = [{"n": 0, "base": 2}, {"n": 1, "base": 16}, {"n": -1, "base": 3}, {"n": 255, "base": 16},
             {"n": 8, "base": 8}, {"n": -10, "base": 10}]
    for base in (2, 3, 5, 7, 12, 16):
        cases.append({"n": rng.randint(-10**6, 10**6), "base": base})
    return cases


TO_BASE = Spec(
    id="to-base", difficulty="easy", tags=["math", "string"],
    description="""
Write the integer `n` in base `base` (between 2 and 16) and return it as a string. Use the digits `0`-`9`
followed by the lowercase letters `a`-`f` for values ten to fifteen, no leading zeros (zero itself is "0"),
and a leading `-` for negative numbers.
""",
    signature="def toBase(self, n: int, base: int) -> str:",
    solution='''
class Solution:
    def toBase(self, n: int, base: int) -> str:
        if n == 0:
            return "0"
        digits = "0123456789abcdef"
        sign = "-" if n < 0 else ""
        n = abs(n)
        out = []
        while n:
            n, r = divmod(n, base)
            out.append(digits[r])
        return sign + "".join(reversed(out))
''',
    examples=[({"n": 26, "base": 16}, "1a"), ({"n": -5, "base": 2}, "-101")],
    cases=_to_base_cases(),
    constraints="- -10^9 <= n <= 10^9\n- 2 <= base <= 16",
    reference=_to_base_ref,
)


# ── distinct-powers ────────────────────────────────────────────────────────────────────────────────────

def _powers_ref(n, base):
    powers = []
    p = 1
    while p <= n:
        powers.append(p)
        p *= base
    return any(sum(c) == n for r in range(len(powers) + 1) for c in combinations(powers, r))


DISTINCT_POWERS = Spec(
    id="distinct-powers", difficulty="medium", tags=["math", "bool"],
    description="""
Return True if the positive integer `n` can be written as a sum of distinct powers of `base` (each of
`base^0, base^1, base^2, ...` used at most once), and False otherwise.
""",
    signature="def isSumOfDistinctPowers(self, n: int, base: int) -> bool:",
    solution='''
class Solution:
    def isSumOfDistinctPowers(self, n: int, base: int) -> bool:
        while n:
            n, r = divmod(n, base)
            if r > 1:
                return False
        return True
''',
    examples=[({"n": 10, "base": 3}, True), ({"n": 21, "base": 3}, False)],
    cases=[{"n": 1, "base": 2}, {"n": 2, "base": 3}, {"n": 3, "base": 2}, {"n": 4, "base": 3},
           {"n": 12, "base": 3}, {"n": 91, "base": 3}, {"n": 92, "base": 3}, {"n": 26, "base": 5},
           {"n": 30, "base": 5}, {"n": 65, "base": 4}, {"n": 1000, "base": 10}, {"n": 999, "base": 10}],
    constraints="- 1 <= n <= 10^7\n- 2 <= base <= 10",
    reference=_powers_ref,
)


# ── digit-square-chain ─────────────────────────────────────────────────────────────────────────────────

def _chain_ref(n):
    seen = set()
    while n != 1 and n not in seen:
        seen.add(n)
        n = sum(int(d) ** 2 for d in str(n))
    return n == 1


DIGIT_SQUARE_CHAIN = Spec(
    id="digit-square-chain", difficulty="easy", tags=["math", "bool", "cycle-detection"],
    description="""
From a positive integer `n`, keep replacing the number with the sum of the squares of its decimal digits.
Return True if this process eventually produces 1, and False if it goes on forever without producing 1.
""",
    signature="def reachesOne(self, n: int) -> bool:",
    solution='''
class Solution:
    def reachesOne(self, n: int) -> bool:
        def step(x):
            return sum(int(d) ** 2 for d in str(x))
        slow, fast = n, step(n)
        while fast != 1 and slow != fast:
            slow = step(slow)
            fast = step(step(fast))
        return fast == 1
''',
    examples=[({"n": 19}, True), ({"n": 4}, False)],
    cases=[{"n": 1}, {"n": 2}, {"n": 7}, {"n": 10}, {"n": 20}, {"n": 44}, {"n": 89}, {"n": 100}, {"n": 2024},
           {"n": 986543210}, {"n": 1111111}],
    constraints="- 1 <= n <= 2^31 - 1",
    reference=_chain_ref,
)


# ── best-average ───────────────────────────────────────────────────────────────────────────────────────

def _average_cases():
    rng = seeded("best-average")
    cases = [{"nums": [5], "k": 1}, {"nums": [-3, -1], "k": 2}, {"nums": [1, 2], "k": 1}, {"nums": [1, 1, 1], "k": 3},
             {"nums": [0, 4, 0, 3, 3], "k": 3}]
    for n in (6, 9, 12, 20, 30, 45):
        cases.append({"nums": [rng.randint(-50, 50) for _ in range(n)], "k": rng.randint(1, n)})
    return cases


BEST_AVERAGE = Spec(
    id="best-average", difficulty="easy", tags=["array", "sliding-window", "float"],
    description="""
Among all runs of exactly `k` consecutive elements of `nums`, find the one with the greatest average. Return
that average as a float rounded to 5 decimal places, i.e. `round(best_sum / k, 5)`.
""",
    signature="def bestAverage(self, nums: List[int], k: int) -> float:",
    solution='''
class Solution:
    def bestAverage(self, nums: List[int], k: int) -> float:
        window = sum(nums[:k])
        best = window
        for i in range(k, len(nums)):
            window += nums[i] - nums[i - k]
            best = max(best, window)
        return round(best / k, 5)
''',
    examples=[({"nums": [1, 12, -5, -6, 50, 3], "k": 4}, 12.75), ({"nums": [2, 1, 2], "k": 3}, 1.66667)],
    cases=_average_cases(),
    constraints="- 1 <= k <= nums.length <= 10^5\n- -10^4 <= nums[i] <= 10^4",
    reference=lambda nums, k: round(max(sum(nums[i:i + k]) for i in range(len(nums) - k + 1)) / k, 5),
)


# ── window-medians ─────────────────────────────────────────────────────────────────────────────────────

def _median_ref(nums, k):
    out = []
    for i in range(len(nums) - k + 1):
        w = sorted(nums[i:i + k])
        out.append(float(Fraction(w[(k - 1) // 2] + w[k // 2], 2)))
    return out


def _median_cases():
    rng = seeded("window-medians")
    cases = [{"nums": [4], "k": 1}, {"nums": [1, 2], "k": 2}, {"nums": [5, 5, 5], "k": 2},
             {"nums": [1, 3, -1, -3, 5, 3, 6, 7], "k": 3}, {"nums": [2, -2, 1], "k": 1}]
    for n in (6, 9, 12, 20, 30, 40):
        cases.append({"nums": [rng.randint(-20, 20) for _ in range(n)], "k": rng.randint(1, n)})
    return cases


WINDOW_MEDIANS = Spec(
    id="window-medians", difficulty="hard", tags=["array", "sliding-window", "heap", "float"],
    description="""
A window of width `k` slides over `nums` one position at a time. For every placement, return the median of the
window as a float: the middle value when `k` is odd, and the mean of the two middle values when `k` is even
(medians of integers are always whole or half numbers, so no rounding is needed).
""",
    signature="def windowMedians(self, nums: List[int], k: int) -> List[float]:",
    solution='''
from bisect import bisect_left, insort

class Solution:
    def windowMedians(self, nums: List[int], k: int) -> List[float]:
        window = sorted(nums[:k])
        out = []
        for i in range(k, len(nums) + 1):
            out.append((window[(k - 1) // 2] + window[k // 2]) / 2)
            if i == len(nums):
                break
            window.pop(bisect_left(window, nums[i - k]))
            insort(window, nums[i])
        return out
''',
    examples=[({"nums": [1, 3, 2, 6], "k": 2}, [2.0, 2.5, 4.0]), ({"nums": [5, 1, 4], "k": 3}, [4.0])],
    cases=_median_cases(),
    constraints="- 1 <= k <= nums.length <= 10^5\n- -2^31 <= nums[i] <= 2^31 - 1",
    reference=_median_ref,
)


# ── polygon-area ───────────────────────────────────────────────────────────────────────────────────────

def _area_ref(points):
    """Sum of signed triangle areas fanned from the first vertex, in exact rationals."""
    x0, y0 = points[0]
    total = Fraction(0)
    for (x1, y1), (x2, y2) in pairwise(points):
        total += Fraction((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0), 2)
    return float(abs(total))


def _area_cases():
    rng = seeded("polygon-area")
    cases = [{"points": [[0, 0], [1, 0], [0, 1]]}, {"points": [[0, 0], [0, 3], [4, 3], [4, 0]]},
             {"points": [[0, 0], [4, 0], [4, 1], [1, 1], [1, 4], [0, 4]]},
             {"points": [[-2, -2], [2, -2], [0, 3]]}]
    for n in (5, 6, 8, 10, 12, 16):
        r = rng.randint(5, 20)
        pts = {(r, 0), (0, r), (-r, 0), (0, -r)}
        while len(pts) < n:
            pts.add((rng.randint(-r, r), rng.randint(-r, r)))
        by_angle = {}
        for x, y in pts:
            if (x, y) == (0, 0):
                continue
            g = math.gcd(x, y)
            by_angle.setdefault((x // g, y // g), (x, y))  # one point per direction keeps it simple
        ordered = sorted(by_angle.values(), key=lambda p: math.atan2(p[1], p[0]))
        if rng.random() < 0.5:
            ordered.reverse()
        cases.append({"points": [list(p) for p in ordered]})
    return cases


POLYGON_AREA = Spec(
    id="polygon-area", difficulty="medium", tags=["math", "geometry", "float"],
    description="""
`points` lists the corners of a simple polygon (its edges never cross) in order around the boundary, either
clockwise or counter-clockwise; consecutive corners are joined by an edge, and the last joins the first. All
coordinates are integers. Return the area enclosed by the polygon as a float (it is always a multiple of 0.5).
""",
    signature="def polygonArea(self, points: List[List[int]]) -> float:",
    solution='''
class Solution:
    def polygonArea(self, points: List[List[int]]) -> float:
        twice = 0
        for i, (x1, y1) in enumerate(points):
            x2, y2 = points[(i + 1) % len(points)]
            twice += x1 * y2 - x2 * y1
        return abs(twice) / 2
''',
    examples=[({"points": [[0, 0], [2, 0], [2, 2], [0, 2]]}, 4.0), ({"points": [[0, 0], [0, 1], [3, 0]]}, 1.5)],
    cases=_area_cases(),
    constraints="- 3 <= points.length <= 1000\n- -10^4 <= x, y <= 10^4\n- the polygon is simple",
    reference=_area_ref,
)


SPECS = [DIGIT_PERSISTENCE, PRIMES_BELOW, TO_BASE, DISTINCT_POWERS, DIGIT_SQUARE_CHAIN, BEST_AVERAGE,
         WINDOW_MEDIANS, POLYGON_AREA]
