"""Binary-tree problems of the bundled set (written for this project); see spec_lists for conventions."""

from __future__ import annotations

import itertools

from build_problems import Spec, seeded
from spec_tree_support import Node, inorder, levels, parse, random_bst, random_tree

# ── tree-depth ─────────────────────────────────────────────────────────────────────────────────────────

def _depth_ref(root):
    def depth(node):
        return 0 if node is None else 1 + max(depth(node.left), depth(node.right))
    return depth(parse(root))


def _tree_cases(spec_id, sizes, lo=-20, hi=20, fixed=()):
    rng = seeded(spec_id)
    return [*fixed, *({"root": random_tree(rng, n, lo, hi)} for n in sizes)]


TREE_DEPTH = Spec(
    id="tree-depth", difficulty="easy", tags=["binary-tree", "dfs"],
    description="""
Return the number of nodes on the longest path from the root of the binary tree down to a leaf (0 for an
empty tree).
""",
    signature="def maxDepth(self, root: Optional[TreeNode]) -> int:",
    solution='''
class Solution:
    def maxDepth(self, root: Optional[TreeNode]) -> int:
        depth, level = 0, [root] if root else []
        while level:
            depth += 1
            level = [child for node in level for child in (node.left, node.right) if child]
        return depth
''',
    examples=[({"root": [3, 9, 20, None, None, 15, 7]}, 3), ({"root": []}, 0)],
    cases=_tree_cases("tree-depth", (2, 3, 5, 8, 12, 20, 30), fixed=[{"root": [1]}, {"root": [1, None, 2, None, 3]}]),
    constraints="- 0 <= number of nodes <= 10^4\n- -100 <= Node.val <= 100",
    reference=_depth_ref,
    arg_kinds={"root": "tree"},
)


# ── level-sums ─────────────────────────────────────────────────────────────────────────────────────────

def _level_sums_ref(root):
    sums = {}

    def visit(node, depth):
        if node is not None:
            sums[depth] = sums.get(depth, 0) + node.val
            visit(node.left, depth + 1)
            visit(node.right, depth + 1)
    visit(parse(root), 0)
    return [sums[d] for d in sorted(sums)]


LEVEL_SUMS = Spec(
    id="level-sums", difficulty="medium", tags=["binary-tree", "bfs"],
    description="""
The root of a binary tree is on level 0, its children on level 1, and so on. Return a list whose `i`-th entry
is the sum of the values of all nodes on level `i` (an empty list for an empty tree).
""",
    signature="def levelSums(self, root: Optional[TreeNode]) -> List[int]:",
    solution='''
class Solution:
    def levelSums(self, root: Optional[TreeNode]) -> List[int]:
        out, level = [], [root] if root else []
        while level:
            out.append(sum(node.val for node in level))
            level = [child for node in level for child in (node.left, node.right) if child]
        return out
''',
    examples=[({"root": [1, 2, 3, 4, None, None, 5]}, [1, 5, 9]), ({"root": [-4]}, [-4])],
    cases=_tree_cases("level-sums", (2, 4, 6, 9, 14, 20, 31), fixed=[{"root": []}, {"root": [0, 0, 0]}]),
    constraints="- 0 <= number of nodes <= 10^4\n- -1000 <= Node.val <= 1000",
    reference=_level_sums_ref,
    arg_kinds={"root": "tree"},
)


# ── mirror-tree ────────────────────────────────────────────────────────────────────────────────────────

def _mirror_ref(root):
    def flip(node):
        if node is not None:
            node.left, node.right = flip(node.right), flip(node.left)
        return node
    return levels(flip(parse(root))) if root else []


MIRROR_TREE = Spec(
    id="mirror-tree", difficulty="easy", tags=["binary-tree", "recursion"],
    description="""
Turn the binary tree into its mirror image, so that for every node the left and right subtrees trade places,
and return its root.
""",
    signature="def mirror(self, root: Optional[TreeNode]) -> Optional[TreeNode]:",
    solution='''
class Solution:
    def mirror(self, root: Optional[TreeNode]) -> Optional[TreeNode]:
        stack = [root]
        while stack:
            node = stack.pop()
            if node is not None:
                node.left, node.right = node.right, node.left
                stack.extend([node.left, node.right])
        return root
''',
    examples=[({"root": [4, 2, 7, 1, 3]}, [4, 7, 2, None, None, 3, 1]), ({"root": []}, [])],
    cases=_tree_cases("mirror-tree", (2, 3, 5, 8, 12, 17, 25), 0, 9, fixed=[{"root": [1]}, {"root": [1, 2]}]),
    constraints="- 0 <= number of nodes <= 100\n- -100 <= Node.val <= 100",
    reference=_mirror_ref,
    arg_kinds={"root": "tree"}, out_kind="tree",
)


# ── is-search-tree ─────────────────────────────────────────────────────────────────────────────────────

def _search_tree_cases():
    rng = seeded("is-search-tree")
    cases = [{"root": [1]}, {"root": [2, 1, 3]}, {"root": [2, 2]}, {"root": [5, 1, 7, None, None, 4, 8]},
             {"root": [10, 5, 15, 3, 12]}]
    for n in (4, 7, 10, 15):
        cases.append({"root": random_bst(rng, n, 0, 60)})
    for n in (5, 9, 14):
        cases.append({"root": random_tree(rng, n, 0, 60)})
    return cases


SEARCH_TREE = Spec(
    id="is-search-tree", difficulty="medium", tags=["binary-tree", "bst", "bool"],
    description="""
Return True if the non-empty binary tree is a search tree: for every node, every value in its left subtree is
strictly smaller than the node's value and every value in its right subtree is strictly larger. Checking only
each node's direct children is not enough.
""",
    signature="def isSearchTree(self, root: Optional[TreeNode]) -> bool:",
    solution='''
class Solution:
    def isSearchTree(self, root: Optional[TreeNode]) -> bool:
        stack = [(root, float("-inf"), float("inf"))]
        while stack:
            node, low, high = stack.pop()
            if node is None:
                continue
            if not low < node.val < high:
                return False
            stack.append((node.left, low, node.val))
            stack.append((node.right, node.val, high))
        return True
''',
    examples=[({"root": [8, 3, 10, 1, 6]}, True), ({"root": [8, 3, 10, 1, 9]}, False)],
    cases=_search_tree_cases(),
    constraints="- 1 <= number of nodes <= 10^4\n- -2^31 <= Node.val <= 2^31 - 1",
    reference=lambda root: (lambda order: all(x < y for x, y in itertools.pairwise(order)))(inorder(parse(root))),
    arg_kinds={"root": "tree"},
)


# ── best-path-sum ──────────────────────────────────────────────────────────────────────────────────────

def _path_ref(root):
    """Try every pair of nodes: the path between them goes through their lowest common ancestor."""
    nodes, parent = [], {}

    def collect(node, up):
        if node is not None:
            nodes.append(node)
            parent[id(node)] = up
            collect(node.left, node)
            collect(node.right, node)
    collect(parse(root), None)

    def ancestors(node):
        chain = []
        while node is not None:
            chain.append(node)
            node = parent[id(node)]
        return chain

    best = None
    for a in nodes:
        up_a = ancestors(a)
        for b in nodes:
            up_b = {id(n) for n in ancestors(b)}
            meet = next(n for n in up_a if id(n) in up_b)
            total = sum(n.val for n in up_a[:up_a.index(meet) + 1])
            chain_b = ancestors(b)
            total += sum(n.val for n in chain_b[:[id(n) for n in chain_b].index(id(meet))])
            best = total if best is None else max(best, total)
    return best


BEST_PATH_SUM = Spec(
    id="best-path-sum", difficulty="hard", tags=["binary-tree", "dfs", "dynamic-programming"],
    description="""
A path in a binary tree is a sequence of distinct nodes in which each consecutive pair is joined by an edge; it
may go up and then down through any node, and a single node is a path. Return the largest sum of node values
over all paths of the non-empty tree. Values may be negative.
""",
    signature="def bestPathSum(self, root: Optional[TreeNode]) -> int:",
    solution='''
class Solution:
    def bestPathSum(self, root: Optional[TreeNode]) -> int:
        best = root.val

        def down(node):
            nonlocal best
            if node is None:
                return 0
            left = max(down(node.left), 0)
            right = max(down(node.right), 0)
            best = max(best, node.val + left + right)
            return node.val + max(left, right)

        down(root)
        return best
''',
    examples=[({"root": [-10, 9, 20, None, None, 15, 7]}, 42), ({"root": [-3]}, -3)],
    cases=_tree_cases("best-path-sum", (2, 3, 5, 8, 11, 16, 24), -15, 15,
                      fixed=[{"root": [-2, -1]}, {"root": [1, -2, 3]}]),
    constraints="- 1 <= number of nodes <= 3 * 10^4\n- -1000 <= Node.val <= 1000",
    reference=_path_ref,
    arg_kinds={"root": "tree"},
)


# ── insert-into-search-tree ────────────────────────────────────────────────────────────────────────────

def _insert_cases():
    rng = seeded("insert-into-search-tree")
    cases = [{"root": [], "val": 5}, {"root": [5], "val": 3}, {"root": [5], "val": 8},
             {"root": [4, 2, 7, 1, 3], "val": 5}]
    for n in (3, 5, 7, 9, 12, 16, 20):
        levels = random_bst(rng, n, 0, 80)
        present = {v for v in levels if v is not None}
        cases.append({"root": levels, "val": rng.choice([v for v in range(0, 81) if v not in present])})
    return cases


def _insert_ref(root, val):
    tree = parse(root)
    if tree is None:
        return [val]
    node = tree
    while True:
        side = "left" if val < node.val else "right"
        if getattr(node, side) is None:
            setattr(node, side, Node(val))
            return levels(tree)
        node = getattr(node, side)


INSERT_SEARCH_TREE = Spec(
    id="insert-into-search-tree", difficulty="medium", tags=["binary-tree", "bst"],
    description="""
`root` is a binary search tree (smaller values to the left, larger to the right) and `val` is not in it yet.
Insert `val` as a new leaf at the one place where a search for it would end: start at the root and go left when
`val` is smaller than the current node, right when it is larger, until the needed child is missing, and attach
it there. Return the root of the tree (a one-node tree if `root` was empty).
""",
    signature="def insertValue(self, root: Optional[TreeNode], val: int) -> Optional[TreeNode]:",
    solution='''
class Solution:
    def insertValue(self, root: Optional[TreeNode], val: int) -> Optional[TreeNode]:
        if root is None:
            return TreeNode(val)
        node = root
        while True:
            if val < node.val:
                if node.left is None:
                    node.left = TreeNode(val)
                    return root
                node = node.left
            else:
                if node.right is None:
                    node.right = TreeNode(val)
                    return root
                node = node.right
''',
    examples=[({"root": [40, 20, 60], "val": 25}, [40, 20, 60, None, 25]), ({"root": [], "val": 1}, [1])],
    cases=_insert_cases(),
    constraints="- 0 <= number of nodes <= 10^4\n- all values are distinct and `val` is not among them",
    reference=_insert_ref,
    arg_kinds={"root": "tree"}, out_kind="tree",
)


# ── trim-to-range ──────────────────────────────────────────────────────────────────────────────────────

def _trim_ref(root, low, high):
    def trim(node):
        if node is None:
            return None
        if node.val < low:
            return trim(node.right)
        if node.val > high:
            return trim(node.left)
        node.left, node.right = trim(node.left), trim(node.right)
        return node
    return levels(trim(parse(root)))


def _trim_cases():
    rng = seeded("trim-to-range")
    cases = [{"root": [1], "low": 1, "high": 1}, {"root": [1], "low": 2, "high": 3},
             {"root": [2, 1, 3], "low": 1, "high": 3},
             {"root": [2, 1, 3], "low": 3, "high": 4}]
    for n in (4, 6, 8, 10, 13, 16, 22):
        low = rng.randint(0, 40)
        cases.append({"root": random_bst(rng, n, 0, 60), "low": low, "high": low + rng.randint(0, 25)})
    return cases


TRIM_TO_RANGE = Spec(
    id="trim-to-range", difficulty="medium", tags=["binary-tree", "bst", "recursion"],
    description="""
`root` is a binary search tree with distinct values. Remove every node whose value lies outside `[low, high]`
(both ends included). The nodes that stay must keep their ancestor relations: if a kept node was a descendant
of another kept node, it still is. Return the root of the trimmed tree, which is itself a search tree (None if
no node stays). This result is unique.
""",
    signature="def trimToRange(self, root: Optional[TreeNode], low: int, high: int) -> Optional[TreeNode]:",
    solution='''
class Solution:
    def trimToRange(self, root: Optional[TreeNode], low: int, high: int) -> Optional[TreeNode]:
        if root is None:
            return None
        if root.val < low:
            return self.trimToRange(root.right, low, high)
        if root.val > high:
            return self.trimToRange(root.left, low, high)
        root.left = self.trimToRange(root.left, low, high)
        root.right = self.trimToRange(root.right, low, high)
        return root
''',
    examples=[({"root": [3, 0, 4, None, 2, None, None, 1], "low": 1, "high": 3}, [3, 2, None, 1]),
              ({"root": [5, 2, 8], "low": 6, "high": 7}, [])],
    cases=_trim_cases(),
    constraints="- 1 <= number of nodes <= 10^4\n- 0 <= low <= high <= 10^4",
    reference=_trim_ref,
    arg_kinds={"root": "tree"}, out_kind="tree",
)


# ── kth-smallest ───────────────────────────────────────────────────────────────────────────────────────

def _kth_cases():
    rng = seeded("kth-smallest")
    cases = [{"root": [1], "k": 1}, {"root": [2, 1, 3], "k": 1}, {"root": [2, 1, 3], "k": 3}]
    for n in (3, 5, 7, 9, 12, 15, 20, 26):
        cases.append({"root": random_bst(rng, n, 0, 99), "k": rng.randint(1, n)})
    return cases


KTH_SMALLEST = Spec(
    id="kth-smallest", difficulty="medium", tags=["binary-tree", "bst"],
    description="""
Return the `k`-th smallest value stored in the binary search tree (`k = 1` is the smallest). All values are
distinct and `k` is at most the number of nodes.
""",
    signature="def kthSmallest(self, root: Optional[TreeNode], k: int) -> int:",
    solution='''
class Solution:
    def kthSmallest(self, root: Optional[TreeNode], k: int) -> int:
        stack, node = [], root
        while True:
            while node is not None:
                stack.append(node)
                node = node.left
            node = stack.pop()
            k -= 1
            if k == 0:
                return node.val
            node = node.right
''',
    examples=[({"root": [5, 3, 6, 2, 4, None, None, 1], "k": 3}, 3), ({"root": [3, 1, 4, None, 2], "k": 4}, 4)],
    cases=_kth_cases(),
    constraints="- 1 <= k <= number of nodes <= 10^4\n- 0 <= Node.val <= 10^4",
    reference=lambda root, k: inorder(parse(root))[k - 1],
    arg_kinds={"root": "tree"},
)


SPECS = [TREE_DEPTH, LEVEL_SUMS, MIRROR_TREE, SEARCH_TREE, BEST_PATH_SUM, INSERT_SEARCH_TREE, TRIM_TO_RANGE,
         KTH_SMALLEST]
