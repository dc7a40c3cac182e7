"""HTTP API against a real `referee serve` (uvicorn on a random loopback port, SQLite file)."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest
from referee_testdb import sqlite_url
from service_helpers import ADMIN_TOKEN, start_server, stop_server

from referee.store import queue, repository
from referee.store.db import Store

TASK_YML = "tests:\n  - {size: 4, seed: 1}\n"
REFERENCE = ("def generate_input(size, seed):\n    return list(range(size))\n\n"
             "def ref_kernel(data):\n    return data\n\n"
             "def check_implementation(data, output):\n    return output == data\n")


def _task(name: str | None = None) -> tuple[str, dict[str, str]]:
    return name or f"task_{secrets.token_hex(4)}", {"task.yml": TASK_YML, "reference.py": REFERENCE}


def _register(admin: httpx.Client, name: str | None = None) -> str:
    name, files = _task(name)
    response = admin.post("/admin/tasks", json={"name": name, "files": files})
    assert response.status_code == 201, response.text
    return name


def test_health_docs_and_bundled_tasks(server):
    with server.client(admin=True) as admin:
        health = admin.get("/healthz").json()
        assert health["status"] == "ok" and health["database"] == "sqlite" and health["schema"] == health["schema_head"]
        assert health["writes"] == "ok"
        assert admin.get("/livez").json() == {"status": "ok", "version": health["version"]}
        paths = admin.get("/openapi.json").json()["paths"]
        for path in ("/submissions", "/audits/{audit_id}", "/admin/audits", "/admin/audits/{audit_id}/reviewed",
                     "/admin/tasks", "/admin/backfill", "/healthz", "/metrics"):
            assert path in paths
        names = {t["name"] for t in admin.get("/admin/tasks").json()["tasks"]}
        assert {"vectoradd_py", "matmul_py", "softmax_py", "prefixsum_py"} <= names
        bundled = admin.get("/admin/tasks/vectoradd_py").json()["task"]
        assert bundled["source"] == "bundled" and "reference.py" in bundled["file_texts"]
        assert "utils.py" in bundled["file_texts"]  # the shared ../utils.py the task names
        assert admin.get("/admin/tasks/nope").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {ADMIN_TOKEN}", "Bearer", "Bearer ünïcödé"])
def test_admin_routes_need_the_token(server, header):
    headers = {"Authorization": header.encode("utf-8")} if header else {}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        for method, path in (("GET", "/admin/audits"), ("POST", "/admin/audits/1/reviewed"), ("GET", "/admin/tasks"),
                             ("POST", "/admin/tasks"), ("POST", "/admin/backfill"), ("GET", "/admin/audits/1")):
            response = client.request(method, path, json={})
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            expected = "Missing Authorization header" if header is None else "Invalid admin token"
            assert response.json()["detail"] == expected


def test_submit_poll_and_list(server):
    with server.client(admin=True) as admin, server.client() as public:
        task = _register(admin)
        code = "def custom_kernel(data):\n    return data\n"
        response = public.post("/submissions", json={"task": task, "code": code, "user_id": "alice",
                                                     "leaderboard": "lb", "file_name": "sub.py"})
        assert response.status_code == 202, response.text
        body = response.json()
        audit_id = body["audit_id"]
        assert body["status"] == "pending" and not body["duplicate"]
        assert response.headers["location"] == f"/audits/{audit_id}"
        audit = public.get(f"/audits/{audit_id}").json()
        assert audit["status"] == "pending" and audit["verdict"] is None and audit["findings"] == []
        assert "code" not in audit and "report" not in audit
        listed = admin.get("/admin/audits", params={"task": task}).json()["audits"]
        assert [a["id"] for a in listed] == [audit_id]
        row = listed[0]
        assert (row["user_id"], row["leaderboard"], row["file_name"], row["task"]) == ("alice", "lb", "sub.py", task)
        detail = admin.get(f"/admin/audits/{audit_id}").json()["audit"]
        assert detail["code"] == code
        assert public.get("/audits/999999").status_code == 404
        assert public.get("/audits/0").status_code == 422


def test_docs_work_offline(server):
    """/docs and /redoc load their scripts and styles from this server, never from a CDN."""
    with server.client() as public:
        for page in ("/docs", "/redoc"):
            response = public.get(page)
            assert response.status_code == 200, page
            urls = re.findall(r"""(?:src|href|url)\s*[=:(]\s*['"]([^'"]+)['"]""", response.text)
            assets = [u for u in urls if u.endswith((".js", ".css", ".png"))]
            assert assets, (page, urls)
            assert not [u for u in urls if "//" in u], (page, urls)  # no absolute URL, no other host
            for asset in assets:
                fetched = public.get(asset)
                assert fetched.status_code == 200 and len(fetched.content) > 1000, asset
        assert public.get("/docs/static/..%2F..%2Fsettings.py").status_code == 404
        assert public.get("/docs/oauth2-redirect").status_code == 200


def test_openapi_declares_every_response(server):
    """Every operation has a response model for its success code and a schema for each error it can return."""
    with server.client() as public:
        spec = public.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2")]
            assert success, (method, path)
            for code, response in responses.items():
                content = response.get("content", {})
                schema = next(iter(content.values()), {}).get("schema")
                assert schema, (method, path, code)
                assert schema != {} and schema.get("title") != "Response", (method, path, code, schema)
            assert "503" in responses or path == "/livez", (method, path)  # /livez never touches the database
            if path.startswith("/admin"):
                assert {"401", "403"} <= set(responses), (method, path)
            if operation.get("parameters") or operation.get("requestBody"):
                assert "422" in responses, (method, path)


def test_idempotency_key(server):
    with server.client(admin=True) as admin, server.client() as public:
        task = _register(admin)
        payload = {"task": task, "code": "x = 1\n", "user_id": "u1"}
        key = {"Idempotency-Key": secrets.token_hex(8)}
        first = public.post("/submissions", json=payload, headers=key).json()
        again = public.post("/submissions", json=payload, headers=key).json()
        assert again["duplicate"] and again["audit_id"] == first["audit_id"]
        for changed in ({"code": "x = 2\n"}, {"user_id": "u2"}, {"user_id": None}, {"file_name": "other.py"},
                        {"task": _register(admin)}):
            reused = public.post("/submissions", json={**payload, **changed}, headers=key)
            assert reused.status_code == 409, (changed, reused.text)
            assert "Idempotency-Key was already used for a different submission" in reused.json()["detail"]
        assert len(admin.get("/admin/audits", params={"task": task}).json()["audits"]) == 1


@pytest.mark.parametrize(("payload", "status", "message"), [
    ({"task": "no_such_task", "code": "x = 1"}, 422, "unknown task 'no_such_task'"),
    ({"task": "vectoradd_py", "code": "x" * 300_000}, 413, "the limit is 262144"),
    ({"task": "vectoradd_py", "code": "x = 1\u0000"}, 422, "NUL"),
    ({"task": "vectoradd_py", "code": "   \n"}, 422, "code: must not be blank"),
    ({"task": "vectoradd_py"}, 422, "code"),
    ({"task": "vectoradd_py", "code": "x", "extra": 1}, 422, "extra"),
    ({"task": "vectoradd_py", "code": 5}, 422, "string"),
    ({"task": "vectoradd_py", "code": "x", "user_id": "u" * 500}, 422, "200"),
])
def test_bad_submissions_get_a_clear_4xx(server, payload, status, message):
    with server.client() as public:
        response = public.post("/submissions", json=payload)
    assert response.status_code == status, response.text
    assert message in response.text


def test_malformed_bodies_never_500(server):
    with server.client() as public:
        cases = [
            (b"{not json", "application/json", 422),
            (b'{"task": "vectoradd_py", "code": "\\ud800"}', "application/json", 422),  # lone surrogate
            (b'[1, 2]', "application/json", 422),
            (b"\xff\xfe garbage", "application/json", 422),
            (b"task=x", "application/x-www-form-urlencoded", 422),
            (b"x" * 3_000_000, "application/json", 413),  # over the body limit: refused before parsing
        ]
        for body, content_type, status in cases:
            response = public.post("/submissions", content=body, headers={"content-type": content_type})
            assert response.status_code == status, (body[:40], response.status_code, response.text[:200])


@pytest.mark.parametrize(("size", "status"), [(10 * 1024 * 1024, 413), (2000, 422)])
def test_chunked_bodies_are_limited_like_declared_ones(server, size, status):
    """No Content-Length (Transfer-Encoding: chunked): over the limit is a 413, under it is read normally."""

    def chunks():
        sent = 0
        while sent < size:
            piece = b'{"task": "' if sent == 0 else b"x" * min(64 * 1024, size - sent)
            sent += len(piece)
            yield piece

    with server.client() as public:
        response = public.post("/submissions", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == status, response.text[:300]
    if status == 413:
        assert "request body over" in response.json()["detail"]


def test_reviews(server):
    with server.client(admin=True) as admin, server.client() as public:
        task = _register(admin)
        audit_id = public.post("/submissions", json={"task": task, "code": "x = 1\n"}).json()["audit_id"]
        response = admin.post(f"/admin/audits/{audit_id}/reviewed",
                               json={"decision": "cheat", "note": "replays outputs", "reviewer": "ana"})
        assert response.status_code == 200 and response.json()["review"]["decision"] == "cheat"
        assert admin.post("/admin/audits/999999/reviewed", json={"decision": "ok"}).status_code == 404
        bad = admin.post(f"/admin/audits/{audit_id}/reviewed", json={"decision": "maybe"})
        assert bad.status_code == 422
        message = bad.json()["detail"][0]["msg"]
        assert message.startswith("decision: ") and all(v in message for v in ("cheat", "false_positive", "'ok'"))
        unknown = admin.post(f"/admin/audits/{audit_id}/reviewed", json={"verdict": "ok"})
        assert unknown.status_code == 422 and unknown.json()["detail"][0]["msg"].startswith("verdict: ")
        reviewed = admin.get("/admin/audits", params={"task": task, "reviewed": "true"}).json()["audits"]
        assert [a["id"] for a in reviewed] == [audit_id] and reviewed[0]["review"]["reviewer"] == "ana"
        assert admin.get("/admin/audits", params={"task": task, "reviewed": "false"}).json()["audits"] == []


def test_reviewed_with_no_body_marks_the_audit_reviewed(server):
    """The original design's own test plan: `curl -X POST -H "Authorization: Bearer $T" .../audits/1/reviewed`."""
    with server.client(admin=True) as admin, server.client() as public:
        task = _register(admin)
        audit_id = public.post("/submissions", json={"task": task, "code": "seen = 1\n"}).json()["audit_id"]
        assert admin.get(f"/admin/audits/{audit_id}").json()["audit"]["reviewed"] is False
        bare = httpx.post(f"{server.url}/admin/audits/{audit_id}/reviewed",
                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})  # no body, no content type
        assert bare.status_code == 200, bare.text
        assert bare.json()["review"]["decision"] == "reviewed" and bare.json()["review"]["reviewer"] == "admin"
        audit = admin.get(f"/admin/audits/{audit_id}").json()["audit"]
        assert audit["reviewed"] is True and audit["review"]["decision"] == "reviewed"
        empty_json = admin.post(f"/admin/audits/{audit_id}/reviewed", json={})
        assert empty_json.status_code == 200 and empty_json.json()["review"]["decision"] == "reviewed"
        decided = admin.post(f"/admin/audits/{audit_id}/reviewed", json={"decision": "ok", "note": "looked fine"})
        assert decided.json()["review"]["decision"] == "ok" and decided.json()["review"]["note"] == "looked fine"
        assert admin.post("/admin/audits/999999/reviewed").status_code == 404


def test_list_validation_filters_and_paging(server):
    with server.client(admin=True) as admin, server.client() as public:
        task = _register(admin)
        ids = [public.post("/submissions", json={"task": task, "code": f"x = {i}\n"}).json()["audit_id"]
               for i in range(5)]
        bad_queries = ({"limit": 0}, {"limit": 501}, {"status": "bogus"}, {"reviewed": "perhaps"},
                       {"verdict": "FAIL,MEH"})
        for bad in bad_queries:
            response = admin.get("/admin/audits", params=bad)
            assert response.status_code == 422
            detail = response.json()["detail"]
            message = detail if isinstance(detail, str) else detail[0]["msg"]
            assert message.startswith(f"{next(iter(bad))}: "), message  # names the field
        for bad, allowed in (({"status": "bogus"}, ("pending", "running", "done", "error")),
                             ({"verdict": "FAIL,MEH"}, ("PASS", "FLAG", "FAIL", "DEGRADED"))):
            message = str(admin.get("/admin/audits", params=bad).json()["detail"])
            assert all(value in message for value in allowed), message
        # empty fields (an HTML form, `?verdict=&reviewed=&task=&limit=`) mean "not given"
        blank = admin.get(f"/admin/audits?verdict=&reviewed=&status=&limit=&task={task}")
        assert blank.status_code == 200 and len(blank.json()["audits"]) == 5
        page = admin.get("/admin/audits", params={"task": task, "limit": 2}).json()
        assert [a["id"] for a in page["audits"]] == ids[:-3:-1] and page["next_before_id"] == ids[3]
        rest = admin.get("/admin/audits", params={"task": task, "before_id": page["next_before_id"]}).json()
        assert [a["id"] for a in rest["audits"]] == ids[2::-1]
        store = Store(server.db_url)
        try:
            while (claimed := queue.claim(store, "test")) is not None:
                verdict = "FAIL" if claimed.lease.audit_id == ids[0] else "PASS"
                queue.complete(store, claimed.lease, {"verdict": verdict, "findings": []})
        finally:
            store.dispose()
        failing = admin.get("/admin/audits", params={"task": task, "verdict": "FAIL"}).json()["audits"]
        assert [a["id"] for a in failing] == [ids[0]]
        assert len(admin.get("/admin/audits", params={"task": task, "status": "done"}).json()["audits"]) == 5


def test_task_registration(server):
    with server.client(admin=True) as admin:
        name, files = _task()
        assert admin.post("/admin/tasks", json={"name": name, "files": files}).status_code == 201
        again = admin.post("/admin/tasks", json={"name": name, "files": files})
        assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
        changed = admin.post("/admin/tasks", json={"name": name, "files": {**files, "task.py": "Input = list"}})
        assert changed.json()["outcome"] == "updated" and changed.json()["task"]["version"] == 2
        bad_cases = [
            ({"name": "../etc", "files": files}, "name: must be 1-100 letters"),
            ({"name": "ok_name", "files": {}}, "files: Dictionary should have at least 1 item"),
            ({"name": "ok_name", "files": {"../reference.py": REFERENCE, "task.yml": TASK_YML}},
             "must be a plain file name"),
            ({"name": "ok_name", "files": {"task.yml": TASK_YML}}, "reference.py is missing"),
            ({"name": "ok_name", "files": {"task.yml": "tests: [", "reference.py": REFERENCE}}, "not valid YAML"),
            ({"name": "ok_name", "files": {"task.yml": TASK_YML, "reference.py": "x = 1"}}, "does not define"),
            ({"name": "ok_name", "files": {"task.yml": 3}}, "string"),
        ]
        for body, message in bad_cases:
            response = admin.post("/admin/tasks", json=body)
            assert response.status_code == 422 and message in response.text, (body["name"], response.text)
        assert "ok_name" not in {t["name"] for t in admin.get("/admin/tasks").json()["tasks"]}


def test_backfill(server):
    with server.client(admin=True) as admin, server.client() as public:
        task = _register(admin)
        ids = [public.post("/submissions", json={"task": task, "code": f"y = {i}\n"}).json()["audit_id"]
               for i in range(3)]
        dry = admin.post("/admin/backfill", json={"task": task, "dry_run": True}).json()
        assert dry["matched"] == 3 and dry["queued"] == 0
        done = admin.post("/admin/backfill", json={"task": task, "limit": 2})
        assert done.status_code == 202 and done.json()["queued"] == 2
        history = admin.get("/admin/audits", params={"task": task, "history": "true"}).json()["audits"]
        assert len(history) == 5 and {a["id"] for a in history} >= set(ids)
        assert len(admin.get("/admin/audits", params={"task": task}).json()["audits"]) == 3
        assert admin.post("/admin/backfill", json={"task": "nope"}).status_code == 404
        assert admin.post("/admin/backfill", json={"limit": 0}).status_code == 422
        # Time bounds that overflow once moved to UTC (found by schemathesis in CI) select all or nothing, no 500.
        for since, matched in (("0001-01-01T00:02:00+01:00", 3), ("9999-12-31T23:30:00-01:00", 0),
                               ("2000-01-01T00:00:00", 3)):
            body = {"task": task, "dry_run": True, "since": since}
            response = admin.post("/admin/backfill", json=body)
            assert response.status_code == 202 and response.json()["matched"] == matched, (since, response.text)


METRIC_LINE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? -?[0-9.e+Inf]+$')


def test_metrics_exposition(server):
    with server.client(admin=True) as admin, server.client() as public:
        task = _register(admin)
        public.post("/submissions", json={"task": task, "code": "z = 1\n"})
        response = public.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {}
    for line in response.text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ .+$", line), line
            continue
        assert METRIC_LINE.match(line), line
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    assert samples['referee_queue_depth{status="pending"}'] >= 1
    assert samples["referee_submissions_total"] >= 1
    buckets = [v for k, v in samples.items() if k.startswith("referee_audit_latency_seconds_bucket")]
    assert buckets == sorted(buckets)  # cumulative
    assert samples['referee_audit_latency_seconds_bucket{le="+Inf"}'] == samples["referee_audit_latency_seconds_count"]
    for verdict in ("PASS", "FLAG", "FAIL", "DEGRADED"):
        assert f'referee_audits_current{{verdict="{verdict}"}}' in samples


def test_without_admin_token_admin_routes_refuse_and_submit_token_is_enforced(tmp_path):
    srv = start_server(sqlite_url(tmp_path), tmp_path / "serve.log", token=None,
                       REFEREE_SUBMIT_TOKEN="submit-secret-123", REFEREE_REGISTER_BUNDLED="0")
    try:
        with httpx.Client(base_url=srv.url) as client:
            for headers in ({}, {"Authorization": "Bearer anything"}, {"Authorization": "Bearer"}):
                response = client.get("/admin/audits", headers=headers)
                assert response.status_code == 403 and "REFEREE_ADMIN_TOKEN" in response.text
            assert client.get("/admin/ui/login").status_code == 403
            assert client.post("/admin/ui/login", data={"token": ""}).status_code == 403
            assert client.post("/submissions", json={"task": "t", "code": "x"}).status_code == 401
            assert client.get("/audits/1").status_code == 401
            ok = client.post("/submissions", json={"task": "t", "code": "x"},
                             headers={"Authorization": "Bearer submit-secret-123"})
            assert ok.status_code == 422 and "unknown task" in ok.text  # authorised, then validated
            assert client.get("/admin/tasks").status_code == 403
            assert client.get("/healthz").status_code == 200
    finally:
        stop_server(srv)


@pytest.mark.postgres
def test_database_outage_is_a_503_not_a_crash(tmp_path, pg_service_url):
    """The database disappears under a running server: clear 503s, the server stays up."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    srv = start_server(pg_service_url, tmp_path / "serve.log", REFEREE_REGISTER_BUNDLED="0")
    name = make_url(pg_service_url).database
    admin_engine = create_engine(make_url(pg_service_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        with srv.client(admin=True) as admin:
            for method, path, body in (("POST", "/submissions", {"task": "t", "code": "x"}),
                                       ("GET", "/admin/audits", None), ("GET", "/metrics", None)):
                response = admin.request(method, path, json=body)
                assert response.status_code == 503, (path, response.text)
                assert "database unavailable" in response.text
                assert int(response.headers["retry-after"]) > 0
            health = admin.get("/healthz")
            assert health.status_code == 503 and health.json()["status"] == "error"
        assert srv.proc.poll() is None
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))  # the fixture drops it again at session end
        admin_engine.dispose()
        stop_server(srv)


def test_repository_view_matches_the_api(server):
    """The admin API exposes what the store holds: one source of truth."""
    with server.client(admin=True) as admin, server.client() as public:
        task = _register(admin)
        audit_id = public.post("/submissions", json={"task": task, "code": "k = 1\n"}).json()["audit_id"]
        api = admin.get(f"/admin/audits/{audit_id}").json()["audit"]
    store = Store(server.db_url)
    try:
        assert repository.get_audit(store, audit_id, full=True) == api
    finally:
        store.dispose()


def test_method_not_allowed_lists_every_method_of_the_path(server):
    with server.client(admin=True) as admin:
        for method, path, allowed in (("OPTIONS", "/admin/tasks", "GET, POST"), ("DELETE", "/submissions", "POST"),
                                      ("PUT", "/admin/audits/1/reviewed", "POST")):
            response = admin.request(method, path)
            assert response.status_code == 405 and response.headers["allow"] == allowed, (method, path)
