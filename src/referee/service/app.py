"""`create_app()`: the FastAPI application of the audit service (OpenAPI docs at /docs).

No import-time globals: settings, store and schema are made when the app starts, so tests and `referee serve`
build as many apps as they like. Startup migrates the database (locked across processes) and registers the
bundled example tasks whose names are free.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from referee import __version__
from referee.service import docs
from referee.service.auditing import bundled_tasks
from referee.service.routes import admin, public, ui
from referee.service.schemas import PATTERN_HINTS
from referee.service.settings import Settings
from referee.store import repository
from referee.store.db import Store, redact
from referee.store.migrate import migration_lock, upgrade_on

log = logging.getLogger("referee.service")


def prepare(store: Store, *, register_bundled: bool = True) -> list[str]:
    """Migrate to the newest schema and register missing bundled tasks. Returns the names it registered."""
    with migration_lock(store.engine) as conn:
        upgrade_on(conn)
        return repository.ensure_tasks(store, bundled_tasks()) if register_bundled else []


class BodyLimit:
    """Refuse request bodies over the limit with 413 before they reach a route.

    A declared Content-Length over the limit is refused at once. A chunked body (no length) is read here up to the
    limit and replayed to the app: refusing it from inside the app's own body reading would surface as FastAPI's
    400 "error parsing the body", not a 413. Task registration may carry several files (`task_limit`); everything
    else at most one submission (`limit`).
    """

    def __init__(self, app: ASGIApp, limit: int, task_limit: int) -> None:
        self.app = app
        self.default_limit = limit
        self.task_limit = task_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.task_limit if scope.get("path", "").rstrip("/") == "/admin/tasks" else self.default_limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > limit:
                await self._refuse(send, limit)
                return
            await self.app(scope, receive, send)  # the server enforces a declared length
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([], message), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                await self._refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(chunks, None, receive), send)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = f'{{"detail":"request body over {limit} bytes"}}'.encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _replay(chunks: list[bytes], final: Message | None, then: Receive | None = None) -> Receive:
    """A `receive` that hands the app the buffered body in one message, then defers to the real one."""
    pending: list[Message] = [final] if final is not None else [
        {"type": "http.request", "body": b"".join(chunks), "more_body": False}]

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()  # after the body: a disconnect, for apps that wait for one
        return {"type": "http.disconnect"}

    return receive


def _printable(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")[:500]


def _field_message(error: dict[str, Any]) -> str:
    """`field: message`, the field being the last named part of the location (body, query, path, header)."""
    names = [str(part) for part in error.get("loc", ()) if isinstance(part, str)]
    field = names[-1] if names and names[-1] not in ("body", "query", "path", "header") else ""
    message = _printable(str(error.get("msg", "")))
    if error.get("type") == "missing" and field:
        message = "required"
    pattern = (error.get("ctx") or {}).get("pattern")
    if error.get("type") == "string_pattern_mismatch" and pattern in PATTERN_HINTS:
        message = PATTERN_HINTS[pattern]
    return f"{field}: {message}" if field else message


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """The service app. Pass `store` to share one (tests); otherwise it is built from `settings.database_url`."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_store = store is None
        app.state.store = store or Store(settings.database_url)
        registered = prepare(app.state.store, register_bundled=settings.register_bundled)
        if registered:
            log.info("registered bundled tasks: %s", ", ".join(registered))
        if not settings.admin_token:
            log.warning("REFEREE_ADMIN_TOKEN is not set: the admin API and review page refuse every request")
        elif len(settings.admin_token) < 16:
            log.warning("REFEREE_ADMIN_TOKEN is shorter than 16 characters; use a long random token")
        log.info("referee service %s on %s", __version__, redact(app.state.store.url))
        try:
            yield
        finally:
            if own_store:
                app.state.store.dispose()

    app = FastAPI(title="referee audit service", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, description="Audits leaderboard submissions for cheating; stores results for "
                                              "admin review.")
    app.state.settings = settings
    docs.install(app)
    app.include_router(public.router)
    app.include_router(admin.router)
    app.include_router(ui.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/admin/ui")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """Like FastAPI's default, minus the echoed input (it can be megabytes, or unencodable text), and each
        message names its field: "decision: Input should be 'cheat', 'false_positive', 'ok' or 'reviewed'"."""
        errors = [{"loc": list(err.get("loc", ())), "msg": _field_message(err), "type": err.get("type", "")}
                  for err in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """FastAPI answers a body it cannot decode (bytes that are not UTF-8 JSON) with 400; every other invalid
        body is a 422 here, so that one is too, in the same shape."""
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            return JSONResponse({"detail": [{"loc": ["body"], "msg": "body: not valid JSON text (UTF-8)",
                                             "type": "json_invalid"}]}, status_code=422)
        if exc.status_code == 405:  # Starlette names the methods of one route; a path may have several
            allowed = [method for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
                       if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
                              for route in app.router.routes)]
            return JSONResponse({"detail": f"Method Not Allowed; allowed: {', '.join(allowed)}"}, status_code=405,
                                headers={"Allow": ", ".join(allowed)})
        return await http_exception_handler(request, exc)

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable: %s", str(exc).splitlines()[0])
        return JSONResponse({"detail": "database unavailable; retry later"}, status_code=503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(DataError)
    async def bad_data(request: Request, exc: DataError) -> JSONResponse:
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path,
                    str(exc).splitlines()[0])
        return JSONResponse({"detail": "a value in this request cannot be stored"}, status_code=422)

    @app.exception_handler(IntegrityError)
    async def conflict(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("conflict on %s %s: %s", request.method, request.url.path, str(exc).splitlines()[0])
        return JSONResponse({"detail": "conflicting concurrent change; retry"}, status_code=409)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, task_limit=settings.max_task_body_bytes)
    return app


def app_from_env() -> Any:
    """Factory for `uvicorn --factory referee.service.app:app_from_env` (what `referee serve` runs)."""
    return create_app(Settings.from_env())
