"""The /schema page: Swagger UI served by this server from the `swagger-ui-bundle` package, so the page works with no
internet (no CDN, no external favicon or fonts)."""

from __future__ import annotations

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

ASSETS = "/static/swagger-ui"


def docs_page() -> SwaggerRenderPlugin:
    """Swagger UI at /schema, every asset from ASSETS."""
    return SwaggerRenderPlugin(
        path="/",
        js_url=f"{ASSETS}/swagger-ui-bundle.js",
        css_url=f"{ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
    )


def docs_assets() -> Router:
    """Swagger UI's files, as the package ships them."""
    return create_static_files_router(
        path=ASSETS,
        directories=[str(swagger_ui_path)],
        name="swagger-ui",
        cache_control=CacheControlHeader(max_age=86400),
    )
