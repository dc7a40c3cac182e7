"""More 2-D grid problems of the bundled set: search and simulation (written for this project)."""

from __future__ import annotations

from build_problems import Spec, seeded


def _grid(rng, rows, cols, values, weights=None):
    return [rng.choices(values, weights=weights, k=cols) for _ in range(rows)]


# ── largest-square ─────────────────────────────────────────────────────────────────────────────────────

def _square_ref(grid):
    rows, cols = len(grid), len(grid[0])
    best = 0
    for r in range(rows):
        for c in range(cols):
            size = 1
            while r + size <= rows and c + size <= cols and all(
                    grid[y][x] == 1 for y in range(r, r + size) for x in range(c, c + size)):
                best = max(best, size)
                size += 1
    return best * best


def _square_cases():
    rng = seeded("largest-square")
    cases = [{"grid": [[0]]}, {"grid": [[1]]}, {"grid": [[1, 1], [1, 1]]}, {"grid": [[1, 1, 1], [1, 1, 1]]},
             {"grid": [[0, 1], [1, 0]]}]
    for rows, cols in ((3, 3), (4, 4), (4, 6), (5, 5), (6, 6), (8, 8)):
        cases.append({"grid": _grid(rng, rows, cols, [0, 1], [1, 4])})
    return cases


LARGEST_SQUARE = Spec(
    id="largest-square", difficulty="medium", tags=["grid", "dynamic-programming"],
    description="""
`grid` holds 0s and 1s. Return the area of the largest square block of cells that contains only 1s
(0 if the grid has no 1 at all).
""",
    signature="def largestSquare(self, grid: List[List[int]]) -> int:",
    solution='''
class Solution:
    def largestSquare(self, grid: List[List[int]]) -> int:
        cols = len(grid[0])
        side = [0] * (cols + 1)
        best = 0
        for row in grid:
            diagonal = 0
            for c in range(1, cols + 1):
                above = side[c]
                side[c] = min(side[c], side[c - 1], diagonal) + 1 if row[c - 1] == 1 else 0
                diagonal = above
                best = max(best, side[c])
        return best * best
''',
    examples=[({"grid": [[1, 0, 1], [1, 1, 1], [1, 1, 0]]}, 4), ({"grid": [[0, 0]]}, 0)],
    cases=_square_cases(),
    constraints="- 1 <= rows, cols <= 300\n- grid[i][j] is 0 or 1",
    reference=_square_ref,
)


# ── grid-word ──────────────────────────────────────────────────────────────────────────────────────────

def _word_cases():
    rng = seeded("grid-word")
    board = [["c", "a", "t"], ["o", "r", "e"], ["d", "o", "g"]]
    cases = [{"board": [["a"]], "word": "a"}, {"board": [["a"]], "word": "aa"}, {"board": board, "word": "core"},
             {"board": board, "word": "tea"}, {"board": board, "word": "cod"}, {"board": board, "word": "dog"},
             {"board": board, "word": "carted"}, {"board": board, "word": "rar"}]
    for rows, cols in ((3, 4), (4, 4), (5, 5)):
        grid = _grid(rng, rows, cols, list("ab"))
        # a word read along a real path, and a random word that may or may not be present
        r, c = rng.randrange(rows), rng.randrange(cols)
        path, seen = [grid[r][c]], {(r, c)}
        for _ in range(rng.randint(3, 6)):
            options = [(y, x) for y, x in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1))
                       if 0 <= y < rows and 0 <= x < cols and (y, x) not in seen]
            if not options:
                break
            r, c = rng.choice(options)
            seen.add((r, c))
            path.append(grid[r][c])
        cases.append({"board": grid, "word": "".join(path)})
        cases.append({"board": grid, "word": "".join(rng.choice("ab") for _ in range(rows * cols // 2))})
    return cases


GRID_WORD = Spec(
    id="grid-word", difficulty="medium", tags=["grid", "backtracking", "bool"],
    description="""
`board` is a grid of lowercase letters. A word can be traced on the board if you can start on some cell and
step from cell to edge-adjacent cell (up, down, left, right), reading the word's letters in order, without
visiting any cell twice. Return True if `word` can be traced, and False otherwise.
""",
    signature="def canTrace(self, board: List[List[str]], word: str) -> bool:",
    solution='''
class Solution:
    def canTrace(self, board: List[List[str]], word: str) -> bool:
        rows, cols = len(board), len(board[0])
        used = set()

        def walk(r, c, i):
            if board[r][c] != word[i]:
                return False
            if i == len(word) - 1:
                return True
            used.add((r, c))
            for y, x in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= y < rows and 0 <= x < cols and (y, x) not in used and walk(y, x, i + 1):
                    used.discard((r, c))
                    return True
            used.discard((r, c))
            return False

        if len(word) > rows * cols:
            return False
        return any(walk(r, c, 0) for r in range(rows) for c in range(cols))
''',
    examples=[({"board": [["s", "e", "e"], ["a", "t", "n"]], "word": "seen"}, True),
              ({"board": [["s", "e", "e"], ["a", "t", "n"]], "word": "sets"}, False)],
    cases=_word_cases(),
    constraints="- 1 <= rows, cols <= 6\n- 1 <= word.length <= 15",
)


# ── island-perimeter ───────────────────────────────────────────────────────────────────────────────────

def _perimeter_ref(grid):
    cells = {(r, c) for r, row in enumerate(grid) for c, v in enumerate(row) if v}
    shared = sum((r + 1, c) in cells for r, c in cells) + sum((r, c + 1) in cells for r, c in cells)
    return 4 * len(cells) - 2 * shared


def _perimeter_cases():
    rng = seeded("island-perimeter")
    cases = [{"grid": [[0]]}, {"grid": [[1]]}, {"grid": [[1, 1]]}, {"grid": [[1, 1], [1, 1]]},
             {"grid": [[1, 0], [0, 1]]}]
    for rows, cols in ((3, 3), (3, 5), (4, 4), (5, 5), (6, 7), (9, 9)):
        cases.append({"grid": _grid(rng, rows, cols, [0, 1])})
    return cases


ISLAND_PERIMETER = Spec(
    id="island-perimeter", difficulty="easy", tags=["grid"],
    description="""
In `grid`, 1 is a square unit of land and 0 is water; the area outside the grid is water too. Return the total
length of coastline: the number of unit cell sides that separate a land cell from water or from the outside.
""",
    signature="def coastline(self, grid: List[List[int]]) -> int:",
    solution='''
class Solution:
    def coastline(self, grid: List[List[int]]) -> int:
        rows, cols = len(grid), len(grid[0])
        total = 0
        for r in range(rows):
            for c in range(cols):
                if grid[r][c] == 1:
                    for y, x in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                        if not (0 <= y < rows and 0 <= x < cols) or grid[y][x] == 0:
                            total += 1
        return total
''',
    examples=[({"grid": [[0, 1, 0], [1, 1, 1]]}, 10), ({"grid": [[0, 0]]}, 0)],
    cases=_perimeter_cases(),
    constraints="- 1 <= rows, cols <= 100\n- grid[i][j] is 0 or 1",
    reference=_perimeter_ref,
)


# ── spread-minutes ─────────────────────────────────────────────────────────────────────────────────────

def _spread_ref(grid):
    grid = [list(row) for row in grid]
    minutes = 0
    while True:
        fresh = [(r, c) for r, row in enumerate(grid) for c, v in enumerate(row) if v == 1]
        if not fresh:
            return minutes
        turning = [(r, c) for r, c in fresh
                   if any(0 <= y < len(grid) and 0 <= x < len(grid[0]) and grid[y][x] == 2
                          for y, x in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)))]
        if not turning:
            return -1
        for r, c in turning:
            grid[r][c] = 2
        minutes += 1


def _spread_cases():
    rng = seeded("spread-minutes")
    cases = [{"grid": [[0]]}, {"grid": [[2]]}, {"grid": [[1]]}, {"grid": [[2, 1, 1, 1]]}, {"grid": [[2, 0, 1]]},
             {"grid": [[1, 1], [1, 2]]}]
    for rows, cols in ((3, 3), (3, 4), (4, 4), (5, 5), (6, 6), (8, 8)):
        cases.append({"grid": _grid(rng, rows, cols, [0, 1, 2], [2, 6, 1])})
    return cases


SPREAD_MINUTES = Spec(
    id="spread-minutes", difficulty="medium", tags=["grid", "bfs"],
    description="""
Each cell of `grid` is empty (0), healthy (1) or infected (2). Every minute, each healthy cell that shares a
side with an infected cell becomes infected. Return the number of minutes until no healthy cell remains, or
-1 if some healthy cell can never be reached. A grid with no healthy cell needs 0 minutes.
""",
    signature="def minutesToSpread(self, grid: List[List[int]]) -> int:",
    solution='''
from collections import deque

class Solution:
    def minutesToSpread(self, grid: List[List[int]]) -> int:
        rows, cols = len(grid), len(grid[0])
        queue = deque()
        healthy = 0
        for r in range(rows):
            for c in range(cols):
                if grid[r][c] == 2:
                    queue.append((r, c, 0))
                elif grid[r][c] == 1:
                    healthy += 1
        state = [row[:] for row in grid]
        minutes = 0
        while queue:
            r, c, t = queue.popleft()
            minutes = max(minutes, t)
            for y, x in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= y < rows and 0 <= x < cols and state[y][x] == 1:
                    state[y][x] = 2
                    healthy -= 1
                    queue.append((y, x, t + 1))
        return minutes if healthy == 0 else -1
''',
    examples=[({"grid": [[2, 1, 1], [1, 1, 0], [0, 1, 1]]}, 4), ({"grid": [[2, 1], [0, 0], [1, 0]]}, -1)],
    cases=_spread_cases(),
    constraints="- 1 <= rows, cols <= 50\n- grid[i][j] is 0, 1 or 2",
    reference=_spread_ref,
)


SPECS = [LARGEST_SQUARE, GRID_WORD, ISLAND_PERIMETER, SPREAD_MINUTES]
