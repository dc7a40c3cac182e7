"""`/admin/ui`: the review page, server-rendered with Jinja2 (no JavaScript, no build step).

Login exchanges the admin token for a signed, expiring session cookie (HttpOnly, SameSite=Strict): the cookie is an
HMAC keyed with the admin token, so rotating the token logs everyone out, and the token itself never sits in the
browser. Every form POST also carries a CSRF value derived from the session. Submitted code and all finding texts
are untrusted: autoescaped by Jinja2, and a strict Content-Security-Policy forbids scripts outright.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from referee.service.deps import SettingsDep, StoreDep, token_matches
from referee.service.settings import Settings
from referee.store import repository
from referee.store.models import REVIEW_DECISIONS

HERE = FilePath(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(prefix="/admin/ui", include_in_schema=False)

COOKIE = "referee_ui"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
DECISION_LABELS = {"cheat": "Confirmed cheat", "false_positive": "False positive", "ok": "OK", "reviewed": "Reviewed"}
UI_DECISIONS = ("cheat", "false_positive", "ok")  # the page's buttons; "reviewed" (no judgement) is the API's default
# Same bound as the API: an id past it cannot exist, and a bigger one would overflow the database's BIGINT (500).
AuditId = Annotated[int, Path(ge=1, le=2**62)]


# --- session ---------------------------------------------------------------------------------------------


def _sign(settings: Settings, message: str) -> str:
    key = (settings.admin_token or "").encode("utf-8")
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def make_session(settings: Settings, reviewer: str, now: float | None = None) -> str:
    expires = int((now or time.time()) + settings.ui_session_s)
    who = base64.urlsafe_b64encode(reviewer.encode("utf-8")).decode("ascii").rstrip("=")
    return f"{expires}.{who}.{_sign(settings, f'ui|{expires}|{who}')}"


def read_session(settings: Settings, cookie: str | None) -> str | None:
    """The reviewer's name when the cookie is authentic and unexpired, else None."""
    if not cookie or not settings.admin_token:
        return None
    parts = cookie.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    expires, who, signature = parts
    if not hmac.compare_digest(signature.encode("ascii", "replace"),
                               _sign(settings, f"ui|{expires}|{who}").encode("ascii")):
        return None
    if int(expires) < time.time():
        return None
    try:
        return base64.urlsafe_b64decode(who + "=" * (-len(who) % 4)).decode("utf-8")
    except ValueError:
        return None


def csrf_token(settings: Settings, cookie: str) -> str:
    return _sign(settings, f"csrf|{cookie}")[:32]


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/admin/ui/login?{urlencode({'next': target})}", status_code=status.HTTP_303_SEE_OTHER)


def _safe_next(value: str | None) -> str:
    """Only same-site paths under /admin/ui: never an open redirect."""
    if value and value.startswith("/admin/ui") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin/ui"


# --- login / logout --------------------------------------------------------------------------------------


@router.get("/static/style.css")
def stylesheet() -> FileResponse:
    return FileResponse(HERE / "static" / "style.css", media_type="text/css",
                        headers={"Cache-Control": "max-age=300"})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, settings: SettingsDep, next: str | None = None) -> HTMLResponse:
    return _page(request, "login.html", {"next": _safe_next(next), "error": None,
                                         "disabled": not settings.admin_token},
                 status_code=200 if settings.admin_token else 403)


@router.post("/login", response_model=None)
async def login(request: Request, settings: SettingsDep, token: Annotated[str, Form(max_length=1000)] = "",
                reviewer: Annotated[str, Form(max_length=100)] = "",
                next: Annotated[str, Form(max_length=2000)] = "/admin/ui") -> Response:
    if not settings.admin_token:
        return _page(request, "login.html", {"next": "/admin/ui", "error": None, "disabled": True}, 403)
    if not token_matches(token.strip(), settings.admin_token):
        await asyncio.sleep(0.5)  # slows guessing without holding a worker thread
        return _page(request, "login.html", {"next": _safe_next(next), "error": "Invalid admin token",
                                             "disabled": False}, status_code=401)
    name = "".join(ch for ch in reviewer.strip() if ch.isprintable())[:100] or "admin"
    response = RedirectResponse(_safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(COOKIE, make_session(settings, name), max_age=settings.ui_session_s, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/admin/ui")
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/admin/ui/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path="/admin/ui")
    return response


# --- pages -----------------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse, response_model=None)
def audit_list(
    request: Request, store: StoreDep, settings: SettingsDep,
    verdict: Annotated[str, Query(max_length=100)] = "",
    reviewed: Annotated[str, Query(max_length=10)] = "",
    task: Annotated[str, Query(max_length=200)] = "",
    status_: Annotated[str, Query(alias="status", max_length=10)] = "",
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    reviewer = read_session(settings, request.cookies.get(COOKIE))
    if reviewer is None:
        return _login_redirect(request)
    reviewed_flag = {"yes": True, "no": False}.get(reviewed)
    audits = repository.list_audits(store, verdict=verdict or None, reviewed=reviewed_flag, task=task or None,
                                    status=status_ if status_ in ("pending", "running", "done", "error") else None,
                                    before_id=before_id, limit=limit)
    filters = {"verdict": verdict, "reviewed": reviewed, "task": task, "status": status_}
    older = None
    if len(audits) == limit:
        older = "/admin/ui?" + urlencode({**{k: v for k, v in filters.items() if v}, "before_id": audits[-1]["id"]})
    return _page(request, "list.html", {
        "audits": audits, "filters": filters, "tasks": [t["name"] for t in repository.list_tasks(store)],
        "reviewer": reviewer, "older": older, "labels": DECISION_LABELS,
        "csrf": csrf_token(settings, request.cookies[COOKIE]),
    })


def _annotate_lines(audit: dict[str, Any], task_files: set[str]) -> tuple[list[dict[str, Any]], list[dict]]:
    """Code lines with the findings that cite them, and each finding with its target line (if in the code)."""
    lines = audit["code"].split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another
    marks: dict[int, list[dict[str, Any]]] = {}
    findings = []
    for index, finding in enumerate(audit["findings"]):
        anchor = None
        for evidence in finding.get("evidence") or []:
            line = evidence.get("line")
            if not isinstance(line, int) or evidence.get("file") in task_files:
                continue
            end = evidence.get("end_line") if isinstance(evidence.get("end_line"), int) else line
            for number in range(max(1, line), min(len(lines), max(line, end)) + 1):
                marks.setdefault(number, []).append({"index": index, "rule": finding.get("rule"),
                                                     "verdict": finding.get("verdict")})
            if 1 <= line <= len(lines) and anchor is None:
                anchor = line
        findings.append({**finding, "anchor": anchor, "index": index})
    rows = []
    for number, text in enumerate(lines, start=1):
        cited = marks.get(number, [])
        worst = "FAIL" if any(m["verdict"] == "FAIL" for m in cited) else ("FLAG" if cited else None)
        rows.append({"number": number, "text": text, "marks": cited, "worst": worst})
    return rows, findings


@router.get("/audits/{audit_id}", response_class=HTMLResponse, response_model=None)
def audit_detail(request: Request, audit_id: AuditId, store: StoreDep, settings: SettingsDep) -> Response:
    reviewer = read_session(settings, request.cookies.get(COOKIE))
    if reviewer is None:
        return _login_redirect(request)
    audit = repository.get_audit(store, audit_id, full=True)
    if audit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Audit {audit_id} not found")
    task = repository.get_task(store, audit["task"], with_files=False)
    rows, findings = _annotate_lines(audit, set(task["files"]) if task else set())
    return _page(request, "detail.html", {
        "audit": audit, "rows": rows, "findings": findings, "reviewer": reviewer, "labels": DECISION_LABELS,
        "decisions": UI_DECISIONS, "csrf": csrf_token(settings, request.cookies[COOKIE]),
        "saved": request.query_params.get("saved") == "1",
    })


@router.post("/audits/{audit_id}/review", response_model=None)
def review(request: Request, audit_id: AuditId, store: StoreDep, settings: SettingsDep,
           decision: Annotated[str, Form(max_length=20)], csrf: Annotated[str, Form(max_length=100)] = "",
           note: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    cookie = request.cookies.get(COOKIE)
    reviewer = read_session(settings, cookie)
    if reviewer is None or cookie is None:
        return _login_redirect(request)
    if not hmac.compare_digest(csrf.encode("utf-8"), csrf_token(settings, cookie).encode("utf-8")):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="stale or missing form token; reload the page")
    if decision not in REVIEW_DECISIONS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"decision: unknown value; allowed: {', '.join(REVIEW_DECISIONS)}")
    clean_note = note.replace("\x00", "").strip() or None
    if repository.record_review(store, audit_id, decision=decision, note=clean_note, reviewer=reviewer) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Audit {audit_id} not found")
    return RedirectResponse(f"/admin/ui/audits/{audit_id}?saved=1", status_code=status.HTTP_303_SEE_OTHER)
