"""The verdict service: only the fork servers (children of the grading process) may ask, once per run."""

from __future__ import annotations

import json
import os

import pytest
from verdict_relay import ask_from_child

from referee.loopholes.relay import ask_service
from referee.loopholes.testcases import build_plan
from referee.loopholes.verdict import VerdictService

PLAN = build_plan(["assert Solution().m(x = 1) == 6", "assert Solution().m(x = 2) == 'b'"], "Solution().m")
RIGHT = {"t": "oracle", "load": None, "res": [["v", 6], ["v", "b"]], "ev": {}}


@pytest.fixture
def service():
    svc = VerdictService()
    yield svc
    svc.close()


def test_a_child_gets_the_bit_once_and_the_parent_keeps_the_verdict(service):
    token = service.register(PLAN, "exit_code")
    first, second = ask_from_child(service.path, [{"token": token, "oracle": RIGHT}] * 2)
    assert first == {"child": {"ok": True}}
    assert "error" in second  # a second frame for the same run is refused
    verdict, released = service.take(token)
    assert verdict.correct and released == []
    assert service.take(token) == (None, [])


def test_expected_values_are_released_only_for_non_plain_outputs_in_eq_mode(service):
    """Released values are sealed for the child's key (`sealing`): never in the clear on the way back."""
    from referee.loopholes.sealing import child_keypair, unseal

    secret, public = child_keypair()
    opaque = {"t": "oracle", "load": None, "res": [["o", "obj", True], ["v", "b"]], "ev": {}, "dh": public}
    eq_token = service.register(PLAN, "eq_override")
    xc_token = service.register(PLAN, "exit_code")
    eq_reply, xc_reply = ask_from_child(service.path, [{"token": eq_token, "oracle": opaque},
                                                       {"token": xc_token, "oracle": opaque}])
    assert set(eq_reply["child"]) == {"ok", "eqs"} and eq_reply["child"]["ok"] is False
    assert json.loads(unseal(secret, eq_reply["child"]["eqs"])) == {"0": 6}
    assert xc_reply == {"child": {"ok": False}}
    assert service.take(eq_token)[1] == [0]


def test_unknown_tokens_and_garbage_are_refused(service):
    replies = ask_from_child(service.path, [{"token": "nope", "oracle": RIGHT}, ["not", "a", "dict"]])
    assert all("error" in reply for reply in replies)


def test_a_process_that_is_not_our_child_is_refused(service):
    token = service.register(PLAN, "exit_code")
    with pytest.raises((EOFError, OSError)):
        ask_service(service.path, {"token": token, "oracle": RIGHT}, timeout=5)  # we are not our own child
    assert service.refused >= 1
    assert service.take(token) == (None, [])


def test_socket_directory_is_private(service):
    assert os.stat(os.path.dirname(service.path)).st_mode & 0o777 == 0o700
