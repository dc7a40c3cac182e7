"""Submit-token rotation without a window of 401s (docs/deploy.md): REFEREE_SUBMIT_TOKEN="new,old" accepts both."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from referee.service.app import create_app
from referee.service.settings import Settings


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("REFEREE_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("REFEREE_ADMIN_TOKEN", "admin-token-0123456789abcdef")
    monkeypatch.setenv("REFEREE_SUBMIT_TOKEN", "new-token-0123456789, old-token-0123456789")
    with TestClient(create_app(Settings.from_env())) as test_client:
        yield test_client


def _post(client, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/submissions", headers=headers,
                       json={"task": "vectoradd_py", "code": f"def custom_kernel(d):\n    return d  # {token}\n"})


def test_both_tokens_accepted_during_rotation(client):
    assert _post(client, "new-token-0123456789").status_code == 202
    assert _post(client, "old-token-0123456789").status_code == 202
    assert _post(client, "admin-token-0123456789abcdef").status_code == 202


@pytest.mark.parametrize("token", [None, "retired-token", "new-token-0123456789,old-token-0123456789", ","])
def test_anything_else_refused(client, token):
    assert _post(client, token).status_code == 401
