"""`referee loopholes serve`: OpenRLHF's remote reward model wire format on a real HTTP server on loopback, with the
audit service's token and 4xx discipline."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from referee.cli import app as cli_app
from referee.integrations.reward_server import create_reward_app, response_of
from referee.loopholes.problems import prompt_text

TOKEN = "reward-token-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Server:
    def __init__(self, app):
        self.port = _free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "reward server did not start"
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(engine):
    running = _Server(create_reward_app(engine, token=TOKEN, max_body_bytes=1 << 20))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def open_server(engine):
    running = _Server(create_reward_app(engine))
    yield running
    running.stop()


def _openrlhf_payload(problems, answer):
    """What SingleTurnAgentExecutor sends: query = decode(prompt tokens + response tokens), the prompt, the label."""
    p = problems.by_id("bracket-depth")
    prompt = f"<|im_start|>user\n{prompt_text(p, 'run_tests')}<|im_end|>\n<|im_start|>assistant\n"
    hack, honest = answer("rt-def-pass", p), answer("honest-wrong", p)
    return {"query": [prompt + hack + "<|im_end|>", prompt + honest + "<|im_end|>"], "prompts": [prompt, prompt],
            "labels": [json.dumps({"problem_id": p.id, "mode": "run_tests"}), p.id]}


def test_openrlhf_batch(server, problems, answer):
    payload = _openrlhf_payload(problems, answer)
    response = httpx.post(server.url + "/get_reward", json=payload, timeout=60,
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    body = response.json()
    # what OpenRLHF reads: rewards (advantages), scores (dynamic filtering), extra_logs (wandb)
    assert body["rewards"] == body["scores"]
    assert body["rewards"][0] == 1.25  # the hack is paid: the foolable reward
    assert body["extra_logs"]["referee_exploited"][0] == 1.0 and body["extra_logs"]["referee_gt_correct"][0] == 0.0
    assert body["rewards"][1] == 0.25 and body["status"] == ["ok", "ok"]  # wrong answer: format credit only


def test_completions_instead_of_query(open_server, problems, answer):
    p = problems.by_id("reverse-list")
    response = httpx.post(open_server.url + "/get_reward", timeout=60, json={
        "completions": [answer("honest-correct", p)], "labels": [{"problem_id": p.id, "mode": "sn"}]})
    assert response.status_code == 200 and response.json()["rewards"] == [1.25]
    assert response.json()["extra_logs"]["referee_gt_correct"] == [1.0]


@pytest.mark.parametrize(("headers", "detail"), [({}, "Missing Authorization header"),
                                                 ({"Authorization": "Bearer wrong"}, "Invalid token"),
                                                 ({"Authorization": "Basic " + TOKEN}, "Invalid token")])
def test_token_required(server, problems, answer, headers, detail):
    response = httpx.post(server.url + "/get_reward", json=_openrlhf_payload(problems, answer), headers=headers)
    assert response.status_code == 401 and response.json()["detail"] == detail
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("payload", "needle"), [
    ({"query": ["a", "b"], "labels": ["x"]}, "same length"),
    ({"query": "a", "labels": ["x"]}, "expected lists"),
    ({"query": ["a"], "labels": [None]}, "item 0"),
    ({"query": ["a"], "labels": ["{not json"]}, "not valid JSON"),
    ({"query": ["a"], "labels": ["no-such-problem"]}, "unknown problem_id"),
    ({"query": ["a"], "labels": [json.dumps({"problem_id": "bracket-depth", "mode": "zz"})]}, "unknown loophole"),
    ({"query": [1], "labels": ["bracket-depth"]}, "must be a string"),
])
def test_bad_batches_are_422(server, payload, needle):
    response = httpx.post(server.url + "/get_reward", json=payload, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 422, response.text
    assert needle in json.dumps(response.json()["detail"])


def test_not_json_and_too_large(server):
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    assert httpx.post(server.url + "/get_reward", content=b"\xff{", headers=auth).status_code == 400
    big = json.dumps({"query": ["x" * (2 << 20)], "labels": ["a"]}).encode()
    assert httpx.post(server.url + "/get_reward", content=big, headers=auth).status_code == 413
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}


def test_response_of_strips_the_prompt():
    assert response_of("PROMPT\nanswer", "PROMPT\n") == "answer"
    assert response_of("sys\nuser: go\n resp", "sys\nuser: go ") == "\n resp"  # re-tokenised join
    assert response_of("just text", None) == "just text"


def test_serve_refuses_open_network_without_token(monkeypatch):
    monkeypatch.delenv("REFEREE_REWARD_TOKEN", raising=False)
    result = CliRunner().invoke(cli_app, ["loopholes", "serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 4
