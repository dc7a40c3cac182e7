"""Plain-Python binary trees for the tree specs: random shapes, level-order listings, brute-force helpers."""

from __future__ import annotations


class Node:
    def __init__(self, val):
        self.val, self.left, self.right = val, None, None


def levels(root):
    out, queue = [], [root]
    while queue:
        node = queue.pop(0)
        out.append(None if node is None else node.val)
        if node is not None:
            queue.extend([node.left, node.right])
    while out and out[-1] is None:
        out.pop()
    return out


def parse(levels):
    """Plain-Python copy of the setup_code `tree_node`, for the brute-force references."""
    if not levels:
        return None
    root = Node(levels[0])
    queue, i = [root], 1
    while queue and i < len(levels):
        node = queue.pop(0)
        for side in ("left", "right"):
            if i < len(levels) and levels[i] is not None:
                child = Node(levels[i])
                setattr(node, side, child)
                queue.append(child)
            i += 1
    return root


def random_tree(rng, n, lo, hi):
    """A random shape with n nodes: each new node hangs from a random free child slot."""
    if n == 0:
        return []
    root = Node(rng.randint(lo, hi))
    slots = [(root, "left"), (root, "right")]
    for _ in range(n - 1):
        parent, side = slots.pop(rng.randrange(len(slots)))
        child = Node(rng.randint(lo, hi))
        setattr(parent, side, child)
        slots += [(child, "left"), (child, "right")]
    return levels(root)


def random_bst(rng, n, lo, hi):
    root = None
    for value in rng.sample(range(lo, hi + 1), n):
        node = Node(value)
        if root is None:
            root = node
            continue
        cur = root
        while True:
            side = "left" if value < cur.val else "right"
            if getattr(cur, side) is None:
                setattr(cur, side, node)
                break
            cur = getattr(cur, side)
    return levels(root)


def inorder(node):
    return [] if node is None else [*inorder(node.left), node.val, *inorder(node.right)]
