"""`/docs` (Swagger UI) and `/redoc` served from local files, so the API docs work on a machine with no internet.

FastAPI's defaults load both from a CDN. The assets come from the `fastapi-offline` package (MIT), which ships the
Swagger UI bundle (Apache-2.0) and the Redoc standalone build (MIT) unmodified; they are served from
`/docs/static/`, and Redoc is told not to fetch Google Fonts.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
MEDIA = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
         "redoc.standalone.js": "text/javascript", "favicon.png": "image/png"}
STATIC = "/docs/static"
# The pages may load nothing from another host: a promise that they work offline, kept by the browser. (Redoc's
# footer asks for a logo on its CDN; refused here, the image hides itself.) Inline code: the pages' own bootstrap.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
       "frame-ancestors 'none'")


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page


def install(app: FastAPI) -> None:
    """Add /docs, /docs/oauth2-redirect, /redoc and their assets to `app` (created with docs_url=None)."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _offline(get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} - Swagger UI",
                                   oauth2_redirect_url="/docs/oauth2-redirect",
                                   swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{STATIC}/swagger-ui.css",
                                   swagger_favicon_url=f"{STATIC}/favicon.png"))

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _offline(get_redoc_html(openapi_url=openapi_url, title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{STATIC}/redoc.standalone.js", redoc_favicon_url=f"{STATIC}/favicon.png",
                              with_google_fonts=False))

    @app.get(STATIC + "/{name}", include_in_schema=False)
    def asset(name: str) -> FileResponse:
        if name not in MEDIA:  # a fixed list: no path from the request ever reaches the filesystem
            raise HTTPException(404, detail="no such asset")
        return FileResponse(ASSETS / name, media_type=MEDIA[name], headers={"Cache-Control": "max-age=86400"})
