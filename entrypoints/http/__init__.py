"""The HTTP API (docs: /work/shared/docs/http-api.md); `create_app(container)` lives in `entrypoints.http.app`."""
