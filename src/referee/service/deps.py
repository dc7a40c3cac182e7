"""Dependencies shared by the routes: the store, the settings, and bearer-token checks.

Tokens are compared with `hmac.compare_digest` on UTF-8 bytes: constant time, and no 500 on a non-ASCII header.
An admin route with no admin token configured refuses (403) instead of running open.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from referee.service.settings import Settings
from referee.store.db import Store


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def token_matches(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; False when either side is missing."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def require_admin(request: Request, settings: SettingsDep) -> None:
    """Admin routes: `Authorization: Bearer <REFEREE_ADMIN_TOKEN>`."""
    if not settings.admin_token:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail="admin API disabled: the server has no REFEREE_ADMIN_TOKEN configured")
    if not request.headers.get("authorization"):
        raise _unauthorized("Missing Authorization header")
    if not token_matches(bearer(request), settings.admin_token):
        raise _unauthorized("Invalid admin token")


def require_submitter(request: Request, settings: SettingsDep) -> None:
    """Submission routes: open unless REFEREE_SUBMIT_TOKEN is set; the admin token is accepted too."""
    if not settings.submit_token:
        return
    given = bearer(request)
    # "new,old" accepts both while a rotation rolls out (docs/deploy.md); each is compared in constant time
    accepted = [t.strip() for t in settings.submit_token.split(",") if t.strip()]
    if any(token_matches(given, t) for t in accepted) or token_matches(given, settings.admin_token):
        return
    raise _unauthorized("Missing Authorization header" if not request.headers.get("authorization")
                        else "Invalid submit token")


AdminDep = Depends(require_admin)
SubmitterDep = Depends(require_submitter)
