"""The plain-value encoding: only exact built-in types cross the boundary; node outputs become listings."""

from __future__ import annotations

import math
from collections import OrderedDict, defaultdict
from unittest.mock import ANY

import pytest

from referee.loopholes.values import (
    Opaque,
    decode,
    encode,
    is_plain,
    plain_equal,
    tree_preorder,
    walk_list,
    walk_tree,
)


@pytest.mark.parametrize("value", [
    0, -7, 2 ** 70, 3 ** 9000, -(5 ** 8000), 1.5, math.inf, "héllo", "", None, True, False, [1, [2, [3]]],
    (1, "a", (2.0,)), {"a": 1, 2: [3]}, {(1, 2): {"x": None}}, {1, 2, 3}, frozenset({"a"}), [],
], ids=lambda value: type(value).__name__)
def test_round_trip_keeps_type_and_value(value):
    back = decode(encode(value))
    assert back == value and type(back) is type(value)


def test_nan_round_trips():
    assert math.isnan(decode(encode(math.nan)))


class _LyingInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class _AlwaysEqual:
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value", [
    _LyingInt(3), [1, _LyingInt(2)], _AlwaysEqual(), ANY, defaultdict(int), OrderedDict(), object(),
    type("S", (str,), {})("x"), type("L", (list,), {})([1]), b"bytes", 1j, {"k": _AlwaysEqual()},
], ids=lambda value: type(value).__name__)
def test_anything_but_exact_builtins_is_opaque(value):
    with pytest.raises(Opaque):
        encode(value)


def test_cycles_and_depth_are_bounded():
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(Opaque):
        encode(cyclic)


class _Node:
    def __init__(self, val=0, next=None):
        self.val, self.next = val, next


class _Tree:
    def __init__(self, val=0, left=None, right=None):
        self.val, self.left, self.right = val, left, right


def test_linked_list_walk_reads_attributes_only():
    assert walk_list(_Node(1, _Node(2))) == [1, 2]
    assert walk_list(None) == []
    looped = _Node(1)
    looped.next = looped
    with pytest.raises(Opaque):
        walk_list(looped)
    with pytest.raises(Opaque):
        walk_list([1, 2])  # a Python list is not a linked list
    with pytest.raises(Opaque):
        walk_list(_Node(_AlwaysEqual()))


def test_tree_walk_matches_the_level_order_builder():
    tree = _Tree(1, _Tree(2, None, _Tree(4)), _Tree(3))
    assert walk_tree(tree) == tree_preorder([1, 2, 3, None, 4])
    assert walk_tree(None) == tree_preorder([]) == [None]
    assert tree_preorder([5, None, 6, 7]) == [5, None, 6, 7, None, None, None]


@pytest.mark.parametrize("bad", [{"$x": 1}, {"$t": 1}, {"$d": [[1]]}, {"$s": [[1]]}, {"a": 1, "b": 2},
                                 {"$d": [[[1], 2]]}])
def test_decode_refuses_malformed_frames(bad):
    with pytest.raises(ValueError):
        decode(bad)


def test_plain_equality_follows_the_assert():
    assert plain_equal(6, 6.0) and plain_equal(True, 1)
    assert not plain_equal((1, 2), [1, 2]) and not plain_equal(math.nan, math.nan)
    assert is_plain([1, {"a": (2,)}]) and not is_plain([_LyingInt(1)])
