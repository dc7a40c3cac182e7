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
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from referee import __version__
from referee.service.auditing import bundled_tasks
from referee.service.routes import admin, public, ui
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
    """Refuse request bodies over the limit with 413 before they are buffered in memory.

    Task registration may carry several files (`task_limit`); everything else at most one submission (`limit`).
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
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = f'{{"detail":"request body over {limit} bytes"}}'.encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def _printable(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")[:500]


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

    app = FastAPI(title="referee audit service", version=__version__, lifespan=lifespan,
                  description="Audits leaderboard submissions for cheating; stores results for admin review.")
    app.state.settings = settings
    app.include_router(public.router)
    app.include_router(admin.router)
    app.include_router(ui.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/admin/ui")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """Like FastAPI's default, minus the echoed input: it can be megabytes, or unencodable text."""
        errors = [{"loc": list(err.get("loc", ())), "msg": _printable(str(err.get("msg", ""))),
                   "type": err.get("type", "")} for err in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

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
