"""The review page in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from referee_testdb import in_ci
from service_helpers import ADMIN_TOKEN
from test_api import _register
from test_worker import _audit, _submit

CHROMIUM = Path(os.environ.get("REFEREE_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
CODE = ("import torch\n"
        "CACHE = {}\n"
        "\n"
        "def custom_kernel(data):\n"
        "    # <script>window.pwned = 1</script> stays text\n"
        "    key = id(data)  # SUSPECT\n"
        "    return CACHE.setdefault(key, data)  # CHEAT\n")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if in_ci():
            pytest.fail(f"{CHROMIUM} is missing in CI (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def audited(server):
    """A finished FAIL audit (findings on lines 6 and 7) plus a clean PASS one, from a real worker."""
    with server.client(admin=True) as admin:
        task = _register(admin)
    cheat = _submit(server, task, CODE + "# LLM please\n")
    clean = _submit(server, task, "def custom_kernel(data):\n    return data\n")
    worker = server.start_worker("--auditor", "service_auditors:marker_auditor", "--drain", "--poll-seconds", "0.05")
    assert worker.wait(timeout=120) == 0
    return task, cheat, clean


def test_login_list_open_review(server, browser, audited):
    task, cheat, clean = audited
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    # not signed in: sent to the login page; a wrong token is refused
    page.goto(f"{server.url}/admin/ui?task={task}")
    assert "/admin/ui/login" in page.url
    page.fill("#token", "wrong-token")
    page.click("#login")
    assert page.locator("#login-error").inner_text() == "Invalid admin token"

    page.fill("#token", ADMIN_TOKEN)
    page.fill("#reviewer", "Ana Reviewer")
    page.click("#login")
    assert re.search(rf"/admin/ui\?task={task}$", page.url), page.url  # back where we were going
    assert "Ana Reviewer" in page.locator("header").inner_text()

    # the list: both audits of this task, newest first, with verdicts and no review yet
    rows = page.locator("#audits tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("id") == f"audit-{clean}"
    cheat_row = page.locator(f"#audit-{cheat}")
    assert "FAIL" in cheat_row.inner_text() and "not reviewed" in cheat_row.inner_text()
    # filtering by verdict through the form
    page.select_option("select[name=verdict]", "FAIL")
    page.click("#apply")
    assert page.locator("#audits tbody tr").count() == 1

    # open the audit: code shown, each finding highlighted at its line
    page.click(f"#audit-{cheat} a.open")
    assert page.url.endswith(f"/admin/ui/audits/{cheat}")
    assert page.locator("#L7").get_attribute("class") == "hl hl-fail"
    assert page.locator("#L6").get_attribute("class") == "hl hl-flag"
    assert "test-cheat" in page.locator("#L7 td.marks").inner_text()
    assert (page.locator("#L4").get_attribute("class") or "") == ""
    assert page.locator("#findings li").count() == 2
    page.click("#finding-1 a.goto")
    assert page.url.endswith("#L7")
    # untrusted code is shown as text, never run
    assert "<script>window.pwned = 1</script> stays text" in page.locator("#L5").inner_text()
    assert page.evaluate("typeof window.pwned") == "undefined" and not dialogs
    assert "test-model" in page.locator("#llm").inner_text() and "cheating" in page.locator("#llm").inner_text()

    # record a review; the reviewed state shows on the page, in the list and in the API
    page.fill("#note", "Replays outputs keyed by id(data).")
    page.click("#review-cheat")
    assert page.locator("#saved").is_visible()
    assert page.locator("#review-state").inner_text() == "Confirmed cheat"
    assert "Replays outputs keyed by id(data)." in page.locator("#reviews").inner_text()
    assert "by Ana Reviewer" in page.locator("#reviews").inner_text()
    page.goto(f"{server.url}/admin/ui?task={task}&reviewed=yes")
    assert page.locator("#audits tbody tr").count() == 1
    assert "Confirmed cheat" in page.locator(f"#audit-{cheat}").inner_text()
    review = _audit(server, cheat)["review"]
    assert review["decision"] == "cheat" and review["reviewer"] == "Ana Reviewer"

    # signing out ends the session
    page.click("header button")
    page.goto(f"{server.url}/admin/ui/audits/{cheat}")
    assert "/admin/ui/login" in page.url
    page.close()


def test_forged_or_expired_sessions_and_csrf_are_refused(server, browser, audited):
    _, cheat, _ = audited
    context = browser.new_context()
    host = server.url.split("//")[1].split(":")[0]
    context.add_cookies([{"name": "referee_ui", "value": "9999999999.YWRtaW4.forged", "domain": host,
                          "path": "/admin/ui"}])
    page = context.new_page()
    page.goto(f"{server.url}/admin/ui")
    assert "/admin/ui/login" in page.url
    # a real session, but a review POST without its CSRF value is refused
    page.fill("#token", ADMIN_TOKEN)
    page.click("#login")
    response = page.request.post(f"{server.url}/admin/ui/audits/{cheat}/review",
                                 form={"decision": "ok", "csrf": "nope"})
    assert response.status == 403
    assert _audit(server, cheat)["review"] is None
    # open redirects are not followed after login
    page.goto(f"{server.url}/admin/ui/login?next=https://evil.example/")
    page.fill("#token", ADMIN_TOKEN)
    page.click("#login")
    assert page.url.startswith(server.url + "/admin/ui")
    context.close()


def test_api_docs_render_with_no_internet(server, browser):
    """Swagger UI and Redoc render in a real browser whose every request off this server is refused."""
    context = browser.new_context()
    outside: list[str] = []

    def only_this_server(route):
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_server)
    page = context.new_page()
    page.goto(f"{server.url}/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "referee audit service" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock-summary-path").count() >= 10  # the operations were read from /openapi.json
    page.goto(f"{server.url}/redoc")
    page.wait_for_selector("h1", timeout=30_000)
    assert "referee audit service" in page.locator("h1").first.inner_text()
    assert not outside, outside
    context.close()
