"""Linked-list problems of the bundled set (written for this project).

Inputs are passed through the setup_code builders (`list_node([...])`, `tree_node([...])`); list and tree
outputs are compared with `is_same_list` / `is_same_tree`, as upstream does. Trees are written in level order
with None for a missing child and trailing Nones dropped.
"""

from __future__ import annotations

from build_problems import Spec, seeded


def _values(rng, n, lo, hi):
    return [rng.randint(lo, hi) for _ in range(n)]


# ── reverse-list ───────────────────────────────────────────────────────────────────────────────────────

REVERSE_LIST = Spec(
    id="reverse-list", difficulty="easy", tags=["linked-list"],
    description="""
Reverse the singly linked list that starts at `head` and return the head of the reversed list (None for an
empty list).
""",
    signature="def reverseList(self, head: Optional[ListNode]) -> Optional[ListNode]:",
    solution='''
class Solution:
    def reverseList(self, head: Optional[ListNode]) -> Optional[ListNode]:
        previous = None
        while head is not None:
            head.next, previous, head = previous, head, head.next
        return previous
''',
    examples=[({"head": [1, 2, 3]}, [3, 2, 1]), ({"head": []}, [])],
    cases=[{"head": [4]}, {"head": [1, 1]}, {"head": [5, 6]}, {"head": [9, 8, 7, 6, 5]}, {"head": [2, 2, 3, 2]},
           *({"head": _values(seeded("reverse-list"), n, -9, 9)} for n in (6, 9, 13, 20, 30))],
    constraints="- 0 <= number of nodes <= 5000\n- -5000 <= Node.val <= 5000",
    reference=lambda head: head[::-1],
    arg_kinds={"head": "list"}, out_kind="list",
)


# ── drop-from-end ──────────────────────────────────────────────────────────────────────────────────────

def _drop_cases():
    rng = seeded("drop-from-end")
    cases = [{"head": [1], "n": 1}, {"head": [1, 2], "n": 1}, {"head": [1, 2], "n": 2}, {"head": [1, 2, 3], "n": 3},
             {"head": [4, 4, 4], "n": 2}]
    for size in (4, 6, 8, 10, 15, 25):
        cases.append({"head": _values(rng, size, 0, 50), "n": rng.randint(1, size)})
    return cases


DROP_FROM_END = Spec(
    id="drop-from-end", difficulty="medium", tags=["linked-list", "two-pointers"],
    description="""
Remove the `n`-th node counted from the end of the linked list starting at `head` (`n = 1` is the last node)
and return the head of the resulting list. `n` is at least 1 and at most the length of the list.
""",
    signature="def removeFromEnd(self, head: Optional[ListNode], n: int) -> Optional[ListNode]:",
    solution='''
class Solution:
    def removeFromEnd(self, head: Optional[ListNode], n: int) -> Optional[ListNode]:
        dummy = ListNode(0, head)
        lead = trail = dummy
        for _ in range(n):
            lead = lead.next
        while lead.next is not None:
            lead, trail = lead.next, trail.next
        trail.next = trail.next.next
        return dummy.next
''',
    examples=[({"head": [10, 20, 30, 40], "n": 2}, [10, 20, 40]), ({"head": [7], "n": 1}, [])],
    cases=_drop_cases(),
    constraints="- 1 <= number of nodes <= 30\n- 1 <= n <= number of nodes",
    reference=lambda head, n: head[:len(head) - n] + head[len(head) - n + 1:],
    arg_kinds={"head": "list"}, out_kind="list",
)


# ── middle-value ───────────────────────────────────────────────────────────────────────────────────────

MIDDLE_VALUE = Spec(
    id="middle-value", difficulty="easy", tags=["linked-list", "two-pointers"],
    description="""
Return the value stored in the middle node of the non-empty linked list starting at `head`. When the list has
an even number of nodes there are two middle nodes; return the value of the second one.
""",
    signature="def middleValue(self, head: Optional[ListNode]) -> int:",
    solution='''
class Solution:
    def middleValue(self, head: Optional[ListNode]) -> int:
        slow = fast = head
        while fast is not None and fast.next is not None:
            slow, fast = slow.next, fast.next.next
        return slow.val
''',
    examples=[({"head": [1, 2, 3, 4, 5]}, 3), ({"head": [1, 2, 3, 4]}, 3)],
    cases=[{"head": [8]}, {"head": [8, 9]}, {"head": [5, 6, 7]},
           *({"head": _values(seeded("middle-value"), n, 0, 99)} for n in (4, 5, 7, 10, 11, 16, 23))],
    constraints="- 1 <= number of nodes <= 100\n- 1 <= Node.val <= 100",
    reference=lambda head: head[len(head) // 2],
    arg_kinds={"head": "list"},
)


# ── merge-sorted ───────────────────────────────────────────────────────────────────────────────────────

def _merge_cases():
    rng = seeded("merge-sorted")
    cases = [{"a": [], "b": []}, {"a": [], "b": [0]}, {"a": [1, 1], "b": []}, {"a": [1, 3, 5], "b": [2, 4, 6]},
             {"a": [5, 6], "b": [1, 2]}]
    for n, m in ((2, 3), (4, 4), (5, 1), (7, 6), (10, 3), (12, 12)):
        cases.append({"a": sorted(_values(rng, n, -20, 20)), "b": sorted(_values(rng, m, -20, 20))})
    return cases


MERGE_SORTED = Spec(
    id="merge-sorted", difficulty="easy", tags=["linked-list", "merge"],
    description="""
`a` and `b` are the heads of two linked lists, each sorted in non-decreasing order. Join all of their nodes into
one list sorted in non-decreasing order and return its head.
""",
    signature="def mergeSorted(self, a: Optional[ListNode], b: Optional[ListNode]) -> Optional[ListNode]:",
    solution='''
class Solution:
    def mergeSorted(self, a: Optional[ListNode], b: Optional[ListNode]) -> Optional[ListNode]:
        dummy = tail = ListNode()
        while a is not None and b is not None:
            if a.val <= b.val:
                tail.next, a = a, a.next
            else:
                tail.next, b = b, b.next
            tail = tail.next
        tail.next = a if a is not None else b
        return dummy.next
''',
    examples=[({"a": [1, 4, 4], "b": [2, 4, 9]}, [1, 2, 4, 4, 4, 9]), ({"a": [], "b": [3]}, [3])],
    cases=_merge_cases(),
    constraints="- 0 <= nodes in each list <= 50\n- -100 <= Node.val <= 100",
    reference=lambda a, b: sorted(a + b),
    arg_kinds={"a": "list", "b": "list"}, out_kind="list",
)


# ── odd-even-positions ─────────────────────────────────────────────────────────────────────────────────

ODD_EVEN_POSITIONS = Spec(
    id="odd-even-positions", difficulty="medium", tags=["linked-list"],
    description="""
Rearrange the linked list starting at `head` so that the nodes in odd positions (1st, 3rd, 5th, ...) come
first and the nodes in even positions (2nd, 4th, ...) follow, each group keeping its original relative order.
Positions are counted from 1; they are not the node values. Return the new head.
""",
    signature="def groupOddEven(self, head: Optional[ListNode]) -> Optional[ListNode]:",
    solution='''
class Solution:
    def groupOddEven(self, head: Optional[ListNode]) -> Optional[ListNode]:
        if head is None:
            return None
        odd, even = head, head.next
        even_head = even
        while even is not None and even.next is not None:
            odd.next = even.next
            odd = odd.next
            even.next = odd.next
            even = even.next
        odd.next = even_head
        return head
''',
    examples=[({"head": [1, 2, 3, 4, 5]}, [1, 3, 5, 2, 4]), ({"head": [8, 6]}, [8, 6])],
    cases=[{"head": []}, {"head": [4]}, {"head": [1, 2, 3]}, {"head": [2, 1, 4, 3]},
           *({"head": _values(seeded("odd-even-positions"), n, 0, 20)} for n in (5, 6, 9, 12, 17, 24))],
    constraints="- 0 <= number of nodes <= 10^4\n- -10^6 <= Node.val <= 10^6",
    reference=lambda head: head[0::2] + head[1::2],
    arg_kinds={"head": "list"}, out_kind="list",
)


# ── reverse-blocks ─────────────────────────────────────────────────────────────────────────────────────

def _blocks_ref(head, k):
    out = []
    for i in range(0, len(head), k):
        block = head[i:i + k]
        out += block[::-1] if len(block) == k else block
    return out


def _blocks_cases():
    rng = seeded("reverse-blocks")
    cases = [{"head": [1], "k": 1}, {"head": [1, 2], "k": 3}, {"head": [1, 2, 3], "k": 1},
             {"head": [1, 2, 3, 4], "k": 4}, {"head": [1, 2, 3, 4, 5, 6], "k": 2}]
    for n in (5, 7, 10, 12, 16, 21):
        cases.append({"head": _values(rng, n, 0, 30), "k": rng.randint(2, n)})
    return cases


REVERSE_BLOCKS = Spec(
    id="reverse-blocks", difficulty="hard", tags=["linked-list"],
    description="""
Split the linked list starting at `head` into consecutive blocks of `k` nodes, from the front. Reverse the
order of the nodes inside every complete block; a final block with fewer than `k` nodes stays as it is. Return
the head of the resulting list. Rearrange the nodes themselves rather than only their values.
""",
    signature="def reverseBlocks(self, head: Optional[ListNode], k: int) -> Optional[ListNode]:",
    solution='''
class Solution:
    def reverseBlocks(self, head: Optional[ListNode], k: int) -> Optional[ListNode]:
        dummy = ListNode(0, head)
        before = dummy
        while True:
            probe = before
            for _ in range(k):
                probe = probe.next
                if probe is None:
                    return dummy.next
            first, after = before.next, probe.next
            previous, node = after, first
            while node is not after:
                node.next, previous, node = previous, node, node.next
            before.next = probe
            before = first
''',
    examples=[({"head": [1, 2, 3, 4, 5], "k": 2}, [2, 1, 4, 3, 5]),
              ({"head": [1, 2, 3, 4, 5], "k": 3}, [3, 2, 1, 4, 5])],
    cases=_blocks_cases(),
    constraints="- 1 <= k <= number of nodes <= 5000\n- 0 <= Node.val <= 1000",
    reference=_blocks_ref,
    arg_kinds={"head": "list"}, out_kind="list",
)


# ── add-digit-lists ────────────────────────────────────────────────────────────────────────────────────

def _digits(number):
    return [int(d) for d in reversed(str(number))]


def _add_cases():
    rng = seeded("add-digit-lists")
    cases = [{"a": [0], "b": [0]}, {"a": [5], "b": [5]}, {"a": [9, 9, 9], "b": [1]}, {"a": [1], "b": [9, 9]},
             {"a": [2, 4, 3], "b": [5, 6, 4]}]
    for lo, hi in ((10, 99), (100, 9999), (10**4, 10**6), (10**5, 10**9), (1, 10**12), (10**15, 10**18)):
        cases.append({"a": _digits(rng.randint(lo, hi)), "b": _digits(rng.randint(lo, hi))})
    return cases


ADD_DIGIT_LISTS = Spec(
    id="add-digit-lists", difficulty="medium", tags=["linked-list", "math"],
    description="""
Each of the linked lists `a` and `b` stores a non-negative integer one decimal digit per node, with the ones
digit first (so 3 -> 4 -> 2 is 243). Neither has leading zeros except the number 0 itself. Return the sum of
the two numbers as a linked list in the same format.
""",
    signature="def addDigitLists(self, a: Optional[ListNode], b: Optional[ListNode]) -> Optional[ListNode]:",
    solution='''
class Solution:
    def addDigitLists(self, a: Optional[ListNode], b: Optional[ListNode]) -> Optional[ListNode]:
        dummy = tail = ListNode()
        carry = 0
        while a is not None or b is not None or carry:
            total = carry
            if a is not None:
                total, a = total + a.val, a.next
            if b is not None:
                total, b = total + b.val, b.next
            carry, digit = divmod(total, 10)
            tail.next = ListNode(digit)
            tail = tail.next
        return dummy.next
''',
    examples=[({"a": [3, 4, 2], "b": [4, 6, 5]}, [7, 0, 8]), ({"a": [9, 9], "b": [1]}, [0, 0, 1])],
    cases=_add_cases(),
    constraints="- 1 <= nodes in each list <= 100\n- 0 <= Node.val <= 9",
    reference=lambda a, b: _digits(int("".join(map(str, a[::-1]))) + int("".join(map(str, b[::-1])))),
    arg_kinds={"a": "list", "b": "list"}, out_kind="list",
)


SPECS = [REVERSE_LIST, DROP_FROM_END, MIDDLE_VALUE, MERGE_SORTED, ODD_EVEN_POSITIONS, REVERSE_BLOCKS,
         ADD_DIGIT_LISTS]
