"""More array problems of the bundled set: counting, greedy, intervals (written for this project)."""

from __future__ import annotations

from functools import cache

from build_problems import Spec, seeded


def _ints(rng, n, lo, hi):
    return [rng.randint(lo, hi) for _ in range(n)]


# ── count-inversions ───────────────────────────────────────────────────────────────────────────────────

def _inversion_cases():
    rng = seeded("count-inversions")
    cases = [{"nums": []}, {"nums": [1]}, {"nums": [1, 2, 3, 4]}, {"nums": [4, 3, 2, 1]}, {"nums": [2, 2, 1, 1]}]
    for n in (6, 10, 20, 40, 80, 150):
        cases.append({"nums": _ints(rng, n, 0, 50)})
    return cases


COUNT_INVERSIONS = Spec(
    id="count-inversions", difficulty="hard", tags=["array", "divide-and-conquer"],
    description="""
An out-of-order pair of `nums` is a pair of positions `i < j` with `nums[i] > nums[j]` (equal values are not
out of order). Return how many out-of-order pairs `nums` has. Aim for better than quadratic time.
""",
    signature="def countInversions(self, nums: List[int]) -> int:",
    solution='''
class Solution:
    def countInversions(self, nums: List[int]) -> int:
        def sort(items):
            if len(items) <= 1:
                return items, 0
            mid = len(items) // 2
            left, a = sort(items[:mid])
            right, b = sort(items[mid:])
            merged, count = [], a + b
            i = j = 0
            while i < len(left) and j < len(right):
                if left[i] <= right[j]:
                    merged.append(left[i])
                    i += 1
                else:
                    merged.append(right[j])
                    count += len(left) - i
                    j += 1
            merged.extend(left[i:])
            merged.extend(right[j:])
            return merged, count
        return sort(list(nums))[1]
''',
    examples=[({"nums": [3, 1, 2]}, 2), ({"nums": [1, 5, 2, 4]}, 2)],
    cases=_inversion_cases(),
    constraints="- 0 <= nums.length <= 10^5\n- 0 <= nums[i] <= 10^9",
    reference=lambda nums: sum(nums[i] > nums[j] for i in range(len(nums)) for j in range(i + 1, len(nums))),
)


# ── fewest-jumps ───────────────────────────────────────────────────────────────────────────────────────

def _jumps_ref(nums):
    dist = {0: 0}
    frontier = [0]
    while frontier:
        nxt = []
        for i in frontier:
            for step in range(1, nums[i] + 1):
                j = i + step
                if j < len(nums) and j not in dist:
                    dist[j] = dist[i] + 1
                    nxt.append(j)
        frontier = nxt
    return dist.get(len(nums) - 1, -1)


def _jumps_cases():
    rng = seeded("fewest-jumps")
    cases = [{"nums": [0]}, {"nums": [1, 0]}, {"nums": [0, 1]}, {"nums": [3, 0, 0, 0]}, {"nums": [1, 1, 1, 1]},
             {"nums": [2, 0, 0, 1]}]
    for n in (5, 8, 12, 16, 25, 40):
        cases.append({"nums": _ints(rng, n, 0, 3)})
    return cases


FEWEST_JUMPS = Spec(
    id="fewest-jumps", difficulty="medium", tags=["array", "greedy", "bfs"],
    description="""
You stand on position 0 of `nums`. From position `i` you may jump forward by any number of positions from 1
up to `nums[i]` (a value of 0 means you cannot move from there). Return the smallest number of jumps that
reaches the last position, or -1 if it cannot be reached. Starting on the last position needs 0 jumps.
""",
    signature="def fewestJumps(self, nums: List[int]) -> int:",
    solution='''
class Solution:
    def fewestJumps(self, nums: List[int]) -> int:
        last = len(nums) - 1
        jumps = 0
        reach = end = 0
        for i in range(last):
            if i > reach:
                return -1
            reach = max(reach, i + nums[i])
            if i == end:
                if reach == end:
                    return -1
                jumps += 1
                end = reach
                if end >= last:
                    return jumps
        return jumps if end >= last else -1
''',
    examples=[({"nums": [2, 3, 1, 1, 4]}, 2), ({"nums": [1, 0, 2]}, -1)],
    cases=_jumps_cases(),
    constraints="- 1 <= nums.length <= 10^4\n- 0 <= nums[i] <= 1000",
    reference=_jumps_ref,
)


# ── coin-ways ──────────────────────────────────────────────────────────────────────────────────────────

def _coin_ref(amount, coins):
    @cache
    def ways(i, left):
        if left == 0:
            return 1
        if i == len(coins) or left < 0:
            return 0
        return ways(i, left - coins[i]) + ways(i + 1, left)
    return ways(0, amount)


def _coin_cases():
    rng = seeded("coin-ways")
    cases = [{"amount": 0, "coins": [3]}, {"amount": 3, "coins": [2]}, {"amount": 4, "coins": [1]},
             {"amount": 10, "coins": [10]}, {"amount": 5, "coins": [1, 2, 5]}]
    for amount in (7, 12, 20, 33, 50, 80):
        cases.append({"amount": amount, "coins": sorted(rng.sample(range(1, 15), rng.randint(2, 5)))})
    return cases


COIN_WAYS = Spec(
    id="coin-ways", difficulty="medium", tags=["array", "dynamic-programming"],
    description="""
You have an unlimited supply of coins of each value in `coins` (all values distinct). Return the number of
different collections of coins whose values add up to exactly `amount`. Collections are unordered: using one
2 and one 3 is the same collection as one 3 and one 2. There is exactly one way to make 0 (take no coins).
""",
    signature="def countWays(self, amount: int, coins: List[int]) -> int:",
    solution='''
class Solution:
    def countWays(self, amount: int, coins: List[int]) -> int:
        ways = [1] + [0] * amount
        for coin in coins:
            for total in range(coin, amount + 1):
                ways[total] += ways[total - coin]
        return ways[amount]
''',
    examples=[({"amount": 5, "coins": [1, 2]}, 3), ({"amount": 3, "coins": [2, 4]}, 0)],
    cases=_coin_cases(),
    constraints="- 0 <= amount <= 5000\n- 1 <= coins.length <= 300\n- 1 <= coins[i] <= 5000, all distinct",
    reference=_coin_ref,
)


# ── rotate-right ───────────────────────────────────────────────────────────────────────────────────────

def _rotate_ref(nums, k):
    out = list(nums)
    for _ in range(k % len(out) if out else 0):
        out.insert(0, out.pop())
    return out


def _rotate_cases():
    rng = seeded("rotate-right")
    cases = [{"nums": [], "k": 3}, {"nums": [1], "k": 5}, {"nums": [1, 2, 3], "k": 0}, {"nums": [1, 2, 3], "k": 3},
             {"nums": [1, 2, 3], "k": 4}]
    for n in (4, 6, 9, 12, 20, 30):
        cases.append({"nums": _ints(rng, n, 0, 99), "k": rng.randint(1, 3 * n)})
    return cases


ROTATE_RIGHT = Spec(
    id="rotate-right", difficulty="easy", tags=["array"],
    description="""
Return a new list holding the elements of `nums` shifted `k` places to the right, where elements pushed past
the end re-enter at the front. `k` may be larger than the length of the list.
""",
    signature="def rotateRight(self, nums: List[int], k: int) -> List[int]:",
    solution='''
class Solution:
    def rotateRight(self, nums: List[int], k: int) -> List[int]:
        if not nums:
            return []
        k %= len(nums)
        return nums[-k:] + nums[:-k] if k else list(nums)
''',
    examples=[({"nums": [1, 2, 3, 4, 5], "k": 2}, [4, 5, 1, 2, 3]), ({"nums": [7, 8], "k": 5}, [8, 7])],
    cases=_rotate_cases(),
    constraints="- 0 <= nums.length <= 10^5\n- 0 <= k <= 10^9",
    reference=_rotate_ref,
)


# ── warmer-wait ────────────────────────────────────────────────────────────────────────────────────────

def _warmer_ref(temps):
    out = []
    for i, t in enumerate(temps):
        out.append(next((j - i for j in range(i + 1, len(temps)) if temps[j] > t), 0))
    return out


def _warmer_cases():
    rng = seeded("warmer-wait")
    cases = [{"temps": [50]}, {"temps": [30, 40, 50]}, {"temps": [50, 40, 30]}, {"temps": [40, 40, 40]},
             {"temps": [35, 31, 33, 36]}]
    for n in (5, 8, 12, 20, 30, 45):
        cases.append({"temps": _ints(rng, n, 30, 45)})
    return cases


WARMER_WAIT = Spec(
    id="warmer-wait", difficulty="medium", tags=["array", "monotonic-stack"],
    description="""
`temps[i]` is the temperature on day `i`. For every day, find how many days you must wait after it for a day
that is strictly warmer. Return these waits in day order, using 0 for a day that is never followed by a warmer
one.
""",
    signature="def daysToWait(self, temps: List[int]) -> List[int]:",
    solution='''
class Solution:
    def daysToWait(self, temps: List[int]) -> List[int]:
        out = [0] * len(temps)
        waiting = []
        for i, t in enumerate(temps):
            while waiting and temps[waiting[-1]] < t:
                j = waiting.pop()
                out[j] = i - j
            waiting.append(i)
        return out
''',
    examples=[({"temps": [40, 38, 41, 39, 45]}, [2, 1, 2, 1, 0]), ({"temps": [60, 60]}, [0, 0])],
    cases=_warmer_cases(),
    constraints="- 1 <= temps.length <= 10^5\n- 30 <= temps[i] <= 100",
    reference=_warmer_ref,
)


# ── target-sum-count ───────────────────────────────────────────────────────────────────────────────────

def _target_cases():
    rng = seeded("target-sum-count")
    cases = [{"nums": [5], "target": 5}, {"nums": [5], "target": 1}, {"nums": [0, 0, 0], "target": 0},
             {"nums": [1, -1, 1, -1], "target": 0}, {"nums": [2, 2, 2], "target": 4}]
    for n in (6, 9, 12, 20, 30, 45):
        cases.append({"nums": _ints(rng, n, -3, 4), "target": rng.randint(-2, 5)})
    return cases


TARGET_SUM_COUNT = Spec(
    id="target-sum-count", difficulty="medium", tags=["array", "prefix-sum", "hash-map"],
    description="""
Return how many non-empty runs of consecutive elements of `nums` add up to exactly `target`. Elements may be
negative or zero, so runs at different positions count separately even when they hold the same values.
""",
    signature="def countTargetRuns(self, nums: List[int], target: int) -> int:",
    solution='''
class Solution:
    def countTargetRuns(self, nums: List[int], target: int) -> int:
        seen = {0: 1}
        running = 0
        total = 0
        for x in nums:
            running += x
            total += seen.get(running - target, 0)
            seen[running] = seen.get(running, 0) + 1
        return total
''',
    examples=[({"nums": [1, 2, 1, 2], "target": 3}, 3), ({"nums": [4, -4], "target": 1}, 0)],
    cases=_target_cases(),
    constraints="- 1 <= nums.length <= 2 * 10^4\n- -1000 <= nums[i] <= 1000\n- -10^7 <= target <= 10^7",
    reference=lambda nums, target: sum(sum(nums[i:j]) == target
                                       for i in range(len(nums)) for j in range(i + 1, len(nums) + 1)),
)


# ── meeting-rooms ──────────────────────────────────────────────────────────────────────────────────────

def _rooms_ref(meetings):
    points = {t for m in meetings for t in m}
    return max(sum(s <= t < e for s, e in meetings) for t in points)


def _rooms_cases():
    rng = seeded("meeting-rooms")
    cases = [{"meetings": [[0, 5]]}, {"meetings": [[0, 5], [5, 10]]}, {"meetings": [[0, 5], [4, 10]]},
             {"meetings": [[1, 2], [1, 2], [1, 2]]}, {"meetings": [[9, 12], [1, 3], [2, 4]]}]
    for n in (3, 5, 8, 12, 16, 24):
        items = []
        for _ in range(n):
            s = rng.randint(0, 40)
            items.append([s, s + rng.randint(1, 10)])
        cases.append({"meetings": items})
    return cases


MEETING_ROOMS = Spec(
    id="meeting-rooms", difficulty="medium", tags=["array", "heap", "sorting"],
    description="""
Each meeting `[start, end]` occupies a room from time `start` up to, but not including, time `end`, so a
meeting ending at 5 and one starting at 5 can share a room. Return the fewest rooms that can host all the
meetings.
""",
    signature="def minRooms(self, meetings: List[List[int]]) -> int:",
    solution='''
import heapq

class Solution:
    def minRooms(self, meetings: List[List[int]]) -> int:
        ends = []
        for start, end in sorted(meetings):
            if ends and ends[0] <= start:
                heapq.heapreplace(ends, end)
            else:
                heapq.heappush(ends, end)
        return len(ends)
''',
    examples=[({"meetings": [[0, 30], [5, 10], [15, 20]]}, 2), ({"meetings": [[7, 10], [2, 4]]}, 1)],
    cases=_rooms_cases(),
    constraints="- 1 <= meetings.length <= 10^4\n- 0 <= start < end <= 10^6",
    reference=_rooms_ref,
)


# ── split-min-largest ──────────────────────────────────────────────────────────────────────────────────

def _split_ref(nums, parts):
    @cache
    def best(i, k):
        if k == 1:
            return sum(nums[i:])
        return min(max(sum(nums[i:j]), best(j, k - 1)) for j in range(i + 1, len(nums) - k + 2))
    return best(0, parts)


def _split_cases():
    rng = seeded("split-min-largest")
    cases = [{"nums": [4], "parts": 1}, {"nums": [1, 2, 3], "parts": 3}, {"nums": [1, 2, 3], "parts": 1},
             {"nums": [0, 0, 0, 0], "parts": 2}, {"nums": [10, 1, 1, 1], "parts": 2}]
    for n in (5, 7, 9, 12, 15, 18):
        cases.append({"nums": _ints(rng, n, 0, 20), "parts": rng.randint(1, n)})
    return cases


SPLIT_MIN_LARGEST = Spec(
    id="split-min-largest", difficulty="hard", tags=["array", "binary-search", "greedy"],
    description="""
Cut `nums` (non-negative integers) into exactly `parts` non-empty runs of consecutive elements. Among all
such cuttings, return the smallest possible value of the largest run sum.
""",
    signature="def minLargestSum(self, nums: List[int], parts: int) -> int:",
    solution='''
class Solution:
    def minLargestSum(self, nums: List[int], parts: int) -> int:
        def pieces_needed(limit):
            count, running = 1, 0
            for x in nums:
                if running + x > limit:
                    count += 1
                    running = 0
                running += x
            return count

        lo, hi = max(nums), sum(nums)
        while lo < hi:
            mid = (lo + hi) // 2
            if pieces_needed(mid) <= parts:
                hi = mid
            else:
                lo = mid + 1
        return lo
''',
    examples=[({"nums": [7, 2, 5, 10, 8], "parts": 2}, 18), ({"nums": [1, 4, 4], "parts": 3}, 4)],
    cases=_split_cases(),
    constraints="- 1 <= parts <= nums.length <= 1000\n- 0 <= nums[i] <= 10^6",
    reference=_split_ref,
)


SPECS = [COUNT_INVERSIONS, FEWEST_JUMPS, COIN_WAYS, ROTATE_RIGHT, WARMER_WAIT, TARGET_SUM_COUNT, MEETING_ROOMS,
         SPLIT_MIN_LARGEST]
