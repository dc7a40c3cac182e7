"""Array and list problems of the bundled set (written for this project)."""

from __future__ import annotations

from collections import Counter
from itertools import groupby

from build_problems import Spec, seeded


def _ints(rng, n, lo, hi):
    return [rng.randint(lo, hi) for _ in range(n)]


# ── second-largest ─────────────────────────────────────────────────────────────────────────────────────

def _second_cases():
    rng = seeded("second-largest")
    cases = [{"nums": [7]}, {"nums": [4, 4, 4]}, {"nums": [0, 1]}, {"nums": [9, 9, 8, 8]}, {"nums": [1, 2, 3, 4]}]
    for n in (3, 5, 8, 12, 20, 30):
        cases.append({"nums": _ints(rng, n, 0, 15)})
    return cases


SECOND_LARGEST = Spec(
    id="second-largest", difficulty="easy", tags=["array"],
    description="""
Given a list of non-negative integers, return the largest value that is strictly smaller than the maximum of
the list. If every element equals the maximum, return -1.
""",
    signature="def secondLargest(self, nums: List[int]) -> int:",
    solution='''
class Solution:
    def secondLargest(self, nums: List[int]) -> int:
        top = max(nums)
        below = [x for x in nums if x < top]
        return max(below) if below else -1
''',
    examples=[({"nums": [3, 8, 8, 5]}, 5), ({"nums": [2, 2]}, -1)],
    cases=_second_cases(),
    constraints="- 1 <= nums.length <= 1000\n- 0 <= nums[i] <= 10^6",
    reference=lambda nums: sorted(set(nums))[-2] if len(set(nums)) > 1 else -1,
)


# ── products-of-others ─────────────────────────────────────────────────────────────────────────────────

def _products_ref(nums):
    out = []
    for i in range(len(nums)):
        p = 1
        for j, x in enumerate(nums):
            if j != i:
                p *= x
        out.append(p)
    return out


def _products_cases():
    rng = seeded("products-of-others")
    cases = [{"nums": [5, 7]}, {"nums": [0, 0, 3]}, {"nums": [0, 2, 3]}, {"nums": [-1, -1, -1]},
             {"nums": [1, 1, 1, 1]}]
    for n in (3, 4, 6, 8, 10, 12):
        cases.append({"nums": _ints(rng, n, -4, 5)})
    return cases


PRODUCTS_OF_OTHERS = Spec(
    id="products-of-others", difficulty="medium", tags=["array", "prefix-product"],
    description="""
For each position `i` of `nums`, compute the product of all the other elements (every element except the one
at `i`). Return these products as a list, in position order. Do it without dividing, since elements may be 0.
""",
    signature="def productsOfOthers(self, nums: List[int]) -> List[int]:",
    solution='''
class Solution:
    def productsOfOthers(self, nums: List[int]) -> List[int]:
        n = len(nums)
        out = [1] * n
        running = 1
        for i in range(n):
            out[i] = running
            running *= nums[i]
        running = 1
        for i in range(n - 1, -1, -1):
            out[i] *= running
            running *= nums[i]
        return out
''',
    examples=[({"nums": [2, 3, 4]}, [12, 8, 6]), ({"nums": [1, 0, 5]}, [0, 5, 0])],
    cases=_products_cases(),
    constraints="- 2 <= nums.length <= 1000\n- -30 <= nums[i] <= 30",
    reference=_products_ref,
)


# ── longest-plateau ────────────────────────────────────────────────────────────────────────────────────

def _plateau_cases():
    rng = seeded("longest-plateau")
    cases = [{"nums": []}, {"nums": [4]}, {"nums": [1, 2, 3]}, {"nums": [6, 6, 6, 6]}, {"nums": [1, 1, 2, 2, 2, 1]}]
    for n in (5, 8, 12, 20, 30, 50):
        cases.append({"nums": _ints(rng, n, 0, 2)})
    return cases


LONGEST_PLATEAU = Spec(
    id="longest-plateau", difficulty="easy", tags=["array"],
    description="""
A plateau is a run of consecutive equal elements. Return the length of the longest plateau in `nums`
(0 for an empty list).
""",
    signature="def longestPlateau(self, nums: List[int]) -> int:",
    solution='''
class Solution:
    def longestPlateau(self, nums: List[int]) -> int:
        best = run = 0
        for i, x in enumerate(nums):
            run = run + 1 if i > 0 and nums[i - 1] == x else 1
            best = max(best, run)
        return best
''',
    examples=[({"nums": [3, 3, 1, 1, 1, 3]}, 3), ({"nums": [5, 6]}, 1)],
    cases=_plateau_cases(),
    constraints="- 0 <= nums.length <= 10^4\n- -10^9 <= nums[i] <= 10^9",
    reference=lambda nums: max((len(list(g)) for _, g in groupby(nums)), default=0),
)


# ── merge-bookings ─────────────────────────────────────────────────────────────────────────────────────

def _merge_ref(intervals):
    parent = list(range(len(intervals)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i, (a1, b1) in enumerate(intervals):
        for j, (a2, b2) in enumerate(intervals):
            if a1 <= b2 and a2 <= b1:
                parent[find(i)] = find(j)
    groups = {}
    for i, (a, b) in enumerate(intervals):
        lo, hi = groups.get(find(i), (a, b))
        groups[find(i)] = (min(lo, a), max(hi, b))
    # a merged group can touch a later one only through shared points, already united above
    return sorted([list(g) for g in groups.values()])


def _merge_cases():
    rng = seeded("merge-bookings")
    cases = [{"intervals": [[1, 2]]}, {"intervals": [[1, 3], [3, 5]]}, {"intervals": [[5, 6], [1, 2]]},
             {"intervals": [[1, 10], [2, 3], [4, 5]]}, {"intervals": [[2, 2], [2, 2]]}]
    for n in (3, 4, 6, 8, 10, 14):
        items = []
        for _ in range(n):
            a = rng.randint(0, 30)
            items.append([a, a + rng.randint(0, 5)])
        cases.append({"intervals": items})
    return cases


MERGE_BOOKINGS = Spec(
    id="merge-bookings", difficulty="medium", tags=["array", "sorting", "intervals"],
    description="""
Each booking `[start, end]` reserves a room for every moment from `start` to `end`, both included. Combine
bookings that overlap or share an endpoint into one booking covering all of them, repeating until no two
remaining bookings overlap or touch. Return the remaining bookings sorted by start. The input is in no
particular order.
""",
    signature="def mergeBookings(self, intervals: List[List[int]]) -> List[List[int]]:",
    solution='''
class Solution:
    def mergeBookings(self, intervals: List[List[int]]) -> List[List[int]]:
        merged = []
        for start, end in sorted(intervals):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return merged
''',
    examples=[({"intervals": [[8, 10], [1, 4], [3, 6]]}, [[1, 6], [8, 10]]),
              ({"intervals": [[1, 4], [4, 7]]}, [[1, 7]])],
    cases=_merge_cases(),
    constraints="- 1 <= intervals.length <= 10^4\n- 0 <= start <= end <= 10^9",
    reference=_merge_ref,
)


# ── most-frequent ──────────────────────────────────────────────────────────────────────────────────────

def _frequent_cases():
    rng = seeded("most-frequent")
    cases = [{"nums": [1], "k": 1}, {"nums": [2, 1], "k": 2}, {"nums": [3, 3, 1, 1, 2], "k": 2},
             {"nums": [5, 5, 5, 4], "k": 1}, {"nums": [-1, -1, 0, 0, 0, 7], "k": 3}]
    for n in (6, 10, 15, 20, 30, 40):
        nums = _ints(rng, n, -3, 6)
        cases.append({"nums": nums, "k": rng.randint(1, len(set(nums)))})
    return cases


MOST_FREQUENT = Spec(
    id="most-frequent", difficulty="medium", tags=["array", "hash-map", "sorting"],
    description="""
Return the `k` values that occur most often in `nums`. Order them by how often they occur, most frequent
first; values that occur equally often are ordered from smallest to largest. `k` never exceeds the number
of distinct values.
""",
    signature="def mostFrequent(self, nums: List[int], k: int) -> List[int]:",
    solution='''
from collections import Counter

class Solution:
    def mostFrequent(self, nums: List[int], k: int) -> List[int]:
        counts = Counter(nums)
        return sorted(counts, key=lambda v: (-counts[v], v))[:k]
''',
    examples=[({"nums": [4, 1, 4, 2, 1, 4], "k": 2}, [4, 1]), ({"nums": [9, 8], "k": 1}, [8])],
    cases=_frequent_cases(),
    constraints="- 1 <= nums.length <= 10^5\n- 1 <= k <= number of distinct values in nums",
    reference=lambda nums, k: [v for v, _ in sorted(Counter(nums).items(), key=lambda kv: (-kv[1], kv[0]))][:k],
)


# ── circular-max-sum ───────────────────────────────────────────────────────────────────────────────────

def _circular_ref(nums):
    n = len(nums)
    return max(sum(nums[(i + d) % n] for d in range(length)) for i in range(n) for length in range(1, n + 1))


def _circular_cases():
    rng = seeded("circular-max-sum")
    cases = [{"nums": [5]}, {"nums": [-3]}, {"nums": [-2, -7, -1]}, {"nums": [4, -10, 4]}, {"nums": [1, 2, 3]}]
    for n in (4, 6, 8, 10, 15, 20):
        cases.append({"nums": _ints(rng, n, -9, 9)})
    return cases


CIRCULAR_MAX_SUM = Spec(
    id="circular-max-sum", difficulty="medium", tags=["array", "dynamic-programming"],
    description="""
`nums` is arranged in a circle, so the last element is followed by the first. Choose a non-empty group of
consecutive positions around the circle, using each position at most once, and return the largest possible
sum of the chosen elements.
""",
    signature="def maxCircularSum(self, nums: List[int]) -> int:",
    solution='''
class Solution:
    def maxCircularSum(self, nums: List[int]) -> int:
        best_hi = best_lo = cur_hi = cur_lo = nums[0]
        for x in nums[1:]:
            cur_hi = max(x, cur_hi + x)
            best_hi = max(best_hi, cur_hi)
            cur_lo = min(x, cur_lo + x)
            best_lo = min(best_lo, cur_lo)
        total = sum(nums)
        if best_hi < 0:
            return best_hi
        return max(best_hi, total - best_lo)
''',
    examples=[({"nums": [6, -8, 1, 5]}, 12), ({"nums": [-4, -2]}, -2)],
    cases=_circular_cases(),
    constraints="- 1 <= nums.length <= 3 * 10^4\n- -3 * 10^4 <= nums[i] <= 3 * 10^4",
    reference=_circular_ref,
)


# ── trapped-water ──────────────────────────────────────────────────────────────────────────────────────

def _trap_cases():
    rng = seeded("trapped-water")
    cases = [{"heights": []}, {"heights": [3]}, {"heights": [1, 2, 3]}, {"heights": [3, 0, 3]},
             {"heights": [5, 1, 1, 1, 2]}]
    for n in (6, 9, 12, 20, 30, 50):
        cases.append({"heights": _ints(rng, n, 0, 8)})
    return cases


TRAPPED_WATER = Spec(
    id="trapped-water", difficulty="hard", tags=["array", "two-pointers"],
    description="""
`heights[i]` is the height of a column of width 1 standing at position `i`. After rain, water settles on top
of the columns wherever it is held in by taller columns on both sides, and spills away past either end.
Return the total amount of water held.
""",
    signature="def trappedWater(self, heights: List[int]) -> int:",
    solution='''
class Solution:
    def trappedWater(self, heights: List[int]) -> int:
        left, right = 0, len(heights) - 1
        left_max = right_max = 0
        total = 0
        while left < right:
            if heights[left] <= heights[right]:
                left_max = max(left_max, heights[left])
                total += left_max - heights[left]
                left += 1
            else:
                right_max = max(right_max, heights[right])
                total += right_max - heights[right]
                right -= 1
        return total
''',
    examples=[({"heights": [2, 0, 1, 3, 0, 2]}, 5), ({"heights": [4, 2, 1]}, 0)],
    cases=_trap_cases(),
    constraints="- 0 <= heights.length <= 2 * 10^4\n- 0 <= heights[i] <= 10^5",
    reference=lambda heights: sum(max(0, min(max(heights[:i + 1]), max(heights[i:])) - h)
                                  for i, h in enumerate(heights)),
)


# ── rising-subsequence ─────────────────────────────────────────────────────────────────────────────────

def _rising_ref(nums):
    best = [1] * len(nums)
    for i in range(len(nums)):
        for j in range(i):
            if nums[j] < nums[i]:
                best[i] = max(best[i], best[j] + 1)
    return max(best, default=0)


def _rising_cases():
    rng = seeded("rising-subsequence")
    cases = [{"nums": [7]}, {"nums": [3, 3, 3]}, {"nums": [5, 4, 3, 2]}, {"nums": [1, 2, 3, 4, 5]},
             {"nums": [2, 9, 3, 8, 4, 7]}]
    for n in (6, 10, 15, 25, 40, 60):
        cases.append({"nums": _ints(rng, n, -20, 20)})
    return cases


RISING_SUBSEQUENCE = Spec(
    id="rising-subsequence", difficulty="medium", tags=["array", "binary-search", "dynamic-programming"],
    description="""
Pick some elements of `nums`, keeping their original order, so that each picked element is strictly greater
than the one picked before it. Return the largest number of elements such a pick can have.
""",
    signature="def longestRise(self, nums: List[int]) -> int:",
    solution='''
from bisect import bisect_left

class Solution:
    def longestRise(self, nums: List[int]) -> int:
        tails = []
        for x in nums:
            i = bisect_left(tails, x)
            if i == len(tails):
                tails.append(x)
            else:
                tails[i] = x
        return len(tails)
''',
    examples=[({"nums": [4, 1, 5, 2, 6, 3, 7]}, 4), ({"nums": [9, 9]}, 1)],
    cases=_rising_cases(),
    constraints="- 1 <= nums.length <= 2500\n- -10^4 <= nums[i] <= 10^4",
    reference=_rising_ref,
)


# ── window-maxima ──────────────────────────────────────────────────────────────────────────────────────

def _maxima_cases():
    rng = seeded("window-maxima")
    cases = [{"nums": [4], "k": 1}, {"nums": [1, 2, 3], "k": 3}, {"nums": [3, 2, 1], "k": 1},
             {"nums": [2, 2, 2, 2], "k": 2}, {"nums": [1, 3, 1, 2, 0, 5], "k": 3}]
    for n in (6, 9, 12, 20, 30, 50):
        cases.append({"nums": _ints(rng, n, -10, 10), "k": rng.randint(1, n)})
    return cases


WINDOW_MAXIMA = Spec(
    id="window-maxima", difficulty="hard", tags=["array", "deque", "sliding-window"],
    description="""
A window of width `k` slides over `nums` one position at a time, from the leftmost placement to the
rightmost. Return the maximum of the window at each placement, in order.
""",
    signature="def windowMaxima(self, nums: List[int], k: int) -> List[int]:",
    solution='''
from collections import deque

class Solution:
    def windowMaxima(self, nums: List[int], k: int) -> List[int]:
        order = deque()
        out = []
        for i, x in enumerate(nums):
            while order and nums[order[-1]] <= x:
                order.pop()
            order.append(i)
            if order[0] <= i - k:
                order.popleft()
            if i >= k - 1:
                out.append(nums[order[0]])
        return out
''',
    examples=[({"nums": [1, 3, -1, -3, 5, 3], "k": 3}, [3, 3, 5, 5]), ({"nums": [8, 1], "k": 2}, [8])],
    cases=_maxima_cases(),
    constraints="- 1 <= k <= nums.length <= 10^5\n- -10^4 <= nums[i] <= 10^4",
    reference=lambda nums, k: [max(nums[i:i + k]) for i in range(len(nums) - k + 1)],
)


SPECS = [SECOND_LARGEST, PRODUCTS_OF_OTHERS, LONGEST_PLATEAU, MERGE_BOOKINGS, MOST_FREQUENT, CIRCULAR_MAX_SUM,
         TRAPPED_WATER, RISING_SUBSEQUENCE, WINDOW_MAXIMA]
