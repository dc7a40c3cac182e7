"""Assert strings taken apart in the parent: call arguments for the child, expected values kept here."""

from __future__ import annotations

import math

import pytest

from referee.loopholes.testcases import TestParseError, build_plan, infer_func_name, parse_test, split_func_name


def test_eq_test_with_keyword_arguments():
    case = parse_test('assert Solution().twoSum(nums = [2, 7], target = 9) == [0, 1]', 0, "Solution", "twoSum")
    assert case.kind == "eq"
    assert case.args == "nums=[2, 7], target=9"
    assert case.expected == [0, 1]


def test_operands_may_be_swapped():
    case = parse_test("assert -3 == Solution().m(x = 1)", 0, "Solution", "m")
    assert case.expected == -3 and case.args == "x=1"


def test_linked_list_and_tree_tests():
    listed = parse_test("assert is_same_list(Solution().rev(head = list_node([1, 2])), list_node([2, 1]))", 0,
                        "Solution", "rev")
    assert listed.kind == "list" and listed.expected == [2, 1] and listed.args == "head=list_node([1, 2])"
    tree = parse_test("assert is_same_tree(tree_node([2, 1, 3]), Solution().m(root = tree_node([2])))", 1,
                      "Solution", "m")
    assert tree.kind == "tree" and tree.expected == [2, 1, 3]
    assert tree.expected_compare() == [2, 1, None, None, 3, None, None]
    empty = parse_test("assert is_same_list(Solution().rev(head = list_node([])), list_node([]))", 2, "Solution", "rev")
    assert empty.expected == []


@pytest.mark.parametrize(("literal", "value"), [
    ("inf", math.inf), ("-inf", -math.inf), ("float('inf')", math.inf), ("10 ** 9 + 7", 10 ** 9 + 7),
    ("(1, 'a')", (1, "a")), ("{1: [2.5]}", {1: [2.5]}), ("{3, 4}", {3, 4}), ("None", None), ("-0.5", -0.5),
    ("True", True), ('"a\\nb"', "a\nb"),
])
def test_expected_literals(literal, value):
    assert parse_test(f"assert Solution().m() == {literal}", 0, "Solution", "m").expected == value


@pytest.mark.parametrize("text", [
    "assert Solution().m() == foo()",          # not a literal
    "assert Solution().m() == x",              # a name
    "assert Solution().m() != 3",              # not ==
    "assert Solution().other() == 3",          # another method
    "assert Helper().m() == 3",                # another class
    "assert is_same_list(Solution().m(), [1])",  # expected side is not list_node([...])
    "assert Solution().m() == 2 ** 100000",   # power too large
    "x = 1",                                   # not an assert
    "assert (",                                # does not parse
])
def test_unsupported_tests_are_refused(text):
    with pytest.raises(TestParseError):
        parse_test(text, 0, "Solution", "m")


def test_plan_key_depends_on_setup_and_arguments():
    tests = ["assert Solution().m(a = 1) == 2"]
    first = build_plan(tests, "Solution().m", "X = 1")
    assert first.key == build_plan(tests, "Solution().m", "X = 1").key
    assert first.key != build_plan(tests, "Solution().m", "X = 2").key
    assert first.key != build_plan(["assert Solution().m(a = 2) == 2"], "Solution().m", "X = 1").key


def test_func_name_helpers():
    assert split_func_name("Solution().maxDepth") == ("Solution", "maxDepth")
    assert infer_func_name(["assert Solution().foo(x = 1) == 2"]) == "Solution().foo"
    with pytest.raises(TestParseError):
        split_func_name("maxDepth")
    with pytest.raises(TestParseError):
        build_plan([], "Solution().m")


def test_every_bundled_problem_parses(problems):
    assert len(problems) >= 10  # an empty problem set would pass the loop below without checking anything
    for problem in problems:
        plan = build_plan(problem.gt_answer, problem.func_name, problem.setup_code)
        assert len(plan.tests) == len(problem.gt_answer) >= 10
