"""The HTTP API (docs/http-api.md); `create_app(container)` lives in `entrypoints.http.app`."""
