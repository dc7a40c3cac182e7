"""2-D grid problems of the bundled set (written for this project)."""

from __future__ import annotations

from functools import cache

from build_problems import Spec, seeded


def _grid(rng, rows, cols, values, weights=None):
    return [rng.choices(values, weights=weights, k=cols) for _ in range(rows)]


# ── count-islands ──────────────────────────────────────────────────────────────────────────────────────

def _islands_ref(grid):
    cells = [(r, c) for r, row in enumerate(grid) for c, v in enumerate(row) if v == 1]
    parent = {cell: cell for cell in cells}

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for r, c in cells:
        for nb in ((r + 1, c), (r, c + 1)):
            if nb in parent:
                parent[find(nb)] = find((r, c))
    return len({find(cell) for cell in cells})


def _islands_cases():
    rng = seeded("count-islands")
    cases = [{"grid": [[0]]}, {"grid": [[1]]}, {"grid": [[1, 1], [1, 1]]}, {"grid": [[1, 0], [0, 1]]},
             {"grid": [[1, 0, 1, 0, 1]]}]
    for rows, cols in ((3, 3), (4, 5), (5, 5), (6, 4), (7, 8), (10, 10)):
        cases.append({"grid": _grid(rng, rows, cols, [0, 1], [3, 2])})
    return cases


COUNT_ISLANDS = Spec(
    id="count-islands", difficulty="medium", tags=["grid", "bfs", "union-find"],
    description="""
`grid` is a map of land (1) and water (0). Land cells that touch along an edge (up, down, left, right; not
diagonally) belong to the same island. Return the number of islands.
""",
    signature="def countIslands(self, grid: List[List[int]]) -> int:",
    solution='''
class Solution:
    def countIslands(self, grid: List[List[int]]) -> int:
        rows, cols = len(grid), len(grid[0])
        seen = [[False] * cols for _ in range(rows)]
        count = 0
        for r in range(rows):
            for c in range(cols):
                if grid[r][c] == 1 and not seen[r][c]:
                    count += 1
                    seen[r][c] = True
                    stack = [(r, c)]
                    while stack:
                        y, x = stack.pop()
                        for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                            if 0 <= ny < rows and 0 <= nx < cols and grid[ny][nx] == 1 and not seen[ny][nx]:
                                seen[ny][nx] = True
                                stack.append((ny, nx))
        return count
''',
    examples=[({"grid": [[1, 1, 0], [0, 1, 0], [0, 0, 1]]}, 2), ({"grid": [[0, 0], [0, 0]]}, 0)],
    cases=_islands_cases(),
    constraints="- 1 <= rows, cols <= 300\n- grid[i][j] is 0 or 1",
    reference=_islands_ref,
)


# ── rotate-grid ────────────────────────────────────────────────────────────────────────────────────────

def _rotate_cases():
    rng = seeded("rotate-grid")
    cases = [{"grid": [[5]]}, {"grid": [[1, 2, 3]]}, {"grid": [[1], [2], [3]]}, {"grid": [[7, 7], [7, 7]]}]
    for rows, cols in ((2, 3), (3, 3), (3, 4), (4, 2), (5, 5), (6, 3)):
        cases.append({"grid": _grid(rng, rows, cols, list(range(10)))})
    return cases


ROTATE_GRID = Spec(
    id="rotate-grid", difficulty="easy", tags=["grid", "matrix"],
    description="""
Return a new grid that is `grid` turned a quarter turn clockwise. A grid with `m` rows and `n` columns becomes
one with `n` rows and `m` columns; the first column read from bottom to top becomes the first row.
""",
    signature="def rotateClockwise(self, grid: List[List[int]]) -> List[List[int]]:",
    solution='''
class Solution:
    def rotateClockwise(self, grid: List[List[int]]) -> List[List[int]]:
        rows, cols = len(grid), len(grid[0])
        return [[grid[rows - 1 - r][c] for r in range(rows)] for c in range(cols)]
''',
    examples=[({"grid": [[1, 2], [3, 4]]}, [[3, 1], [4, 2]]),
              ({"grid": [[1, 2, 3], [4, 5, 6]]}, [[4, 1], [5, 2], [6, 3]])],
    cases=_rotate_cases(),
    constraints="- 1 <= rows, cols <= 100",
    reference=lambda grid: [list(row) for row in zip(*grid[::-1], strict=True)],
)


# ── cheapest-path ──────────────────────────────────────────────────────────────────────────────────────

def _cheapest_ref(grid):
    rows, cols = len(grid), len(grid[0])

    @cache
    def cost(r, c):
        if r == rows - 1 and c == cols - 1:
            return grid[r][c]
        options = []
        if r + 1 < rows:
            options.append(cost(r + 1, c))
        if c + 1 < cols:
            options.append(cost(r, c + 1))
        return grid[r][c] + min(options)
    return cost(0, 0)


def _cheapest_cases():
    rng = seeded("cheapest-path")
    cases = [{"grid": [[4]]}, {"grid": [[1, 2, 3]]}, {"grid": [[1], [5], [2]]}, {"grid": [[0, 0], [0, 0]]}]
    for rows, cols in ((2, 2), (3, 3), (3, 5), (4, 4), (5, 6), (8, 8), (10, 7)):
        cases.append({"grid": _grid(rng, rows, cols, list(range(10)))})
    return cases


CHEAPEST_PATH = Spec(
    id="cheapest-path", difficulty="medium", tags=["grid", "dynamic-programming"],
    description="""
Walk from the top-left cell of `grid` to the bottom-right cell, moving one cell right or one cell down at each
step. The cost of a walk is the sum of the values of every cell it visits, both ends included. Return the
smallest possible cost.
""",
    signature="def cheapestPath(self, grid: List[List[int]]) -> int:",
    solution='''
class Solution:
    def cheapestPath(self, grid: List[List[int]]) -> int:
        cols = len(grid[0])
        best = [0] * cols
        for r, row in enumerate(grid):
            for c, value in enumerate(row):
                if r == 0 and c == 0:
                    best[c] = value
                elif r == 0:
                    best[c] = best[c - 1] + value
                elif c == 0:
                    best[c] = best[c] + value
                else:
                    best[c] = min(best[c], best[c - 1]) + value
        return best[-1]
''',
    examples=[({"grid": [[1, 3, 1], [1, 5, 1], [4, 2, 1]]}, 7), ({"grid": [[2, 9], [1, 1]]}, 4)],
    cases=_cheapest_cases(),
    constraints="- 1 <= rows, cols <= 200\n- 0 <= grid[i][j] <= 200",
    reference=_cheapest_ref,
)


# ── clear-path ─────────────────────────────────────────────────────────────────────────────────────────

def _clear_ref(grid):
    """Relax distances until nothing changes (Bellman-Ford style), independent of a BFS queue."""
    n, m = len(grid), len(grid[0])
    inf = float("inf")
    if grid[0][0] or grid[n - 1][m - 1]:
        return -1
    dist = [[inf] * m for _ in range(n)]
    dist[0][0] = 1
    changed = True
    while changed:
        changed = False
        for r in range(n):
            for c in range(m):
                if grid[r][c] or dist[r][c] == inf:
                    continue
                for dr in (-1, 0, 1):
                    for dc in (-1, 0, 1):
                        y, x = r + dr, c + dc
                        if 0 <= y < n and 0 <= x < m and not grid[y][x] and dist[y][x] > dist[r][c] + 1:
                            dist[y][x] = dist[r][c] + 1
                            changed = True
    return -1 if dist[n - 1][m - 1] == inf else dist[n - 1][m - 1]


def _clear_cases():
    rng = seeded("clear-path")
    cases = [{"grid": [[0]]}, {"grid": [[1]]}, {"grid": [[0, 1], [1, 0]]}, {"grid": [[0, 0], [0, 1]]},
             {"grid": [[0, 1, 1], [1, 1, 1], [1, 1, 0]]}]
    for size in (3, 4, 5, 6, 8, 10):
        grid = _grid(rng, size, size, [0, 1], [3, 1])
        grid[0][0] = grid[-1][-1] = 0
        cases.append({"grid": grid})
    return cases


CLEAR_PATH = Spec(
    id="clear-path", difficulty="medium", tags=["grid", "bfs"],
    description="""
In the `n x m` grid, 0 marks an open cell and 1 a blocked cell. From an open cell you may step to any of its
eight neighbours (sides and corners) that is open. Return the number of cells on the shortest route from the
top-left cell to the bottom-right cell, counting both ends, or -1 if there is no route (including when either
end is blocked).
""",
    signature="def shortestClearPath(self, grid: List[List[int]]) -> int:",
    solution='''
from collections import deque

class Solution:
    def shortestClearPath(self, grid: List[List[int]]) -> int:
        n, m = len(grid), len(grid[0])
        if grid[0][0] or grid[n - 1][m - 1]:
            return -1
        dist = {(0, 0): 1}
        queue = deque([(0, 0)])
        while queue:
            r, c = queue.popleft()
            if (r, c) == (n - 1, m - 1):
                return dist[(r, c)]
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    y, x = r + dr, c + dc
                    if 0 <= y < n and 0 <= x < m and not grid[y][x] and (y, x) not in dist:
                        dist[(y, x)] = dist[(r, c)] + 1
                        queue.append((y, x))
        return -1
''',
    examples=[({"grid": [[0, 0, 0], [1, 1, 0], [1, 1, 0]]}, 4), ({"grid": [[0, 1], [1, 1]]}, -1)],
    cases=_clear_cases(),
    constraints="- 1 <= n, m <= 100\n- grid[i][j] is 0 or 1",
    reference=_clear_ref,
)


# ── spiral-read ────────────────────────────────────────────────────────────────────────────────────────

def _spiral_ref(grid):
    grid = [list(row) for row in grid]
    out = []
    while grid:
        out.extend(grid.pop(0))
        grid = [list(row) for row in zip(*grid, strict=True)][::-1] if grid and grid[0] else []
    return out


def _spiral_cases():
    rng = seeded("spiral-read")
    cases = [{"grid": [[9]]}, {"grid": [[1, 2, 3, 4]]}, {"grid": [[1], [2], [3]]}, {"grid": [[1, 2], [3, 4]]}]
    for rows, cols in ((3, 3), (3, 4), (4, 3), (4, 4), (5, 2), (2, 5), (6, 6)):
        cases.append({"grid": _grid(rng, rows, cols, list(range(20)))})
    return cases


SPIRAL_READ = Spec(
    id="spiral-read", difficulty="medium", tags=["grid", "simulation"],
    description="""
Read every value of `grid` exactly once by walking a spiral: go along the top row left to right, then down
the right column, then along the bottom row right to left, then up the left column, and keep circling inwards
the same way. Return the values in the order they are read.
""",
    signature="def spiralOrder(self, grid: List[List[int]]) -> List[int]:",
    solution='''
class Solution:
    def spiralOrder(self, grid: List[List[int]]) -> List[int]:
        top, bottom, left, right = 0, len(grid) - 1, 0, len(grid[0]) - 1
        out = []
        while top <= bottom and left <= right:
            out.extend(grid[top][c] for c in range(left, right + 1))
            out.extend(grid[r][right] for r in range(top + 1, bottom + 1))
            if top < bottom:
                out.extend(grid[bottom][c] for c in range(right - 1, left - 1, -1))
            if left < right:
                out.extend(grid[r][left] for r in range(bottom - 1, top, -1))
            top, bottom, left, right = top + 1, bottom - 1, left + 1, right - 1
        return out
''',
    examples=[({"grid": [[1, 2, 3], [4, 5, 6], [7, 8, 9]]}, [1, 2, 3, 6, 9, 8, 7, 4, 5]),
              ({"grid": [[1, 2], [3, 4], [5, 6]]}, [1, 2, 4, 6, 5, 3])],
    cases=_spiral_cases(),
    constraints="- 1 <= rows, cols <= 50",
    reference=_spiral_ref,
)


SPECS = [COUNT_ISLANDS, ROTATE_GRID, CHEAPEST_PATH, CLEAR_PATH, SPIRAL_READ]
